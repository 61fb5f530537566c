"""A minimal TAP (sync) answer for the simulator's executed observations.

Two tables are published:

``executed_observations``
    tooflow's own columns (one row per exposure).
``ztf.ztf_current_meta_sci``
    the ZTF exposures in the column names of IRSA's ZTF science-exposure
    metadata table (``field``, ``fid``, ``expid``, ``obsjd``, ``exptime``,
    ``maglimit``, ...), one row per exposure instead of per CCD quadrant, so
    the production ZTF query path can be exercised against the simulator.

Only this ADQL subset is understood; anything else is rejected with an error
VOTable naming what is not supported::

    SELECT [TOP n] * | col[, col...] FROM table
    [WHERE cond [AND cond]...] [ORDER BY col [ASC|DESC]]

where ``cond`` is ``col OP literal`` (OP one of ``= < <= > >= !=``), or
``col BETWEEN literal AND literal``; literals are numbers or quoted strings
(ISO times for ``obs_time``).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TABLES", "AdqlQuery", "AdqlError", "parse_adql", "run_query", "votable_bytes",
           "error_votable", "tables_xml", "capabilities_xml"]

ZTF_TABLE = "ztf.ztf_current_meta_sci"
_FID = {"g": 1, "r": 2, "i": 3}

#: Published tables: name → list of (column, datatype, unit, description).
TABLES: dict[str, list[tuple[str, str, str, str]]] = {
    "executed_observations": [
        ("request_key", "char", "", "tooflow request key"),
        ("telescope", "char", "", "facility name"),
        ("queue_name", "char", "", "queue the request was submitted to"),
        ("event_id", "char", "", "event the observation was for"),
        ("field_id", "int", "", "field of the telescope grid (-1: pointed target)"),
        ("target", "char", "", "pointed target name"),
        ("ra", "double", "deg", "pointing right ascension, ICRS"),
        ("dec", "double", "deg", "pointing declination, ICRS"),
        ("filter", "char", "", "filter name"),
        ("exposure_time", "double", "s", "exposure time"),
        ("obs_time", "char", "", "exposure start, ISO 8601 UTC"),
        ("obsjd", "double", "d", "exposure start, Julian date (UTC)"),
        ("airmass", "double", "", "airmass at start"),
        ("limiting_magnitude", "double", "mag", "5-sigma limiting magnitude"),
        ("expid", "long", "", "exposure id"),
    ],
    ZTF_TABLE: [
        ("field", "int", "", "ZTF field id"),
        ("rcid", "int", "", "readout channel (0 here: whole exposure)"),
        ("fid", "int", "", "filter id: 1=g, 2=r, 3=i"),
        ("expid", "long", "", "exposure id"),
        ("obsjd", "double", "d", "exposure start, Julian date"),
        ("exptime", "double", "s", "exposure time"),
        ("maglimit", "double", "mag", "5-sigma limiting magnitude"),
        ("ipac_gid", "int", "", "program group id (1: survey/ToO, -1: engineering)"),
        ("seeing", "double", "arcsec", "FWHM seeing"),
        ("airmass", "double", "", "airmass"),
        ("ra", "double", "deg", "field centre right ascension"),
        ("dec", "double", "deg", "field centre declination"),
    ],
}

_OPS = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<>": lambda a, b: a != b,
        "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b}


class AdqlError(ValueError):
    """The query is outside the supported ADQL subset or names unknown things."""


@dataclass
class AdqlQuery:
    """A parsed query of the supported subset."""

    table: str
    columns: list[str]
    conditions: list[tuple[str, str, Any]] = field(default_factory=list)
    order_by: tuple[str, bool] | None = None  # (column, descending)
    top: int | None = None


_SELECT = re.compile(
    r"^\s*SELECT\s+(?:TOP\s+(?P<top>\d+)\s+)?(?P<cols>.+?)\s+FROM\s+(?P<table>[\w.]+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+ORDER\s+BY\s+(?P<order>\w+)(?:\s+(?P<dir>ASC|DESC))?)?"
    r"\s*;?\s*$", re.IGNORECASE | re.DOTALL)
_COND = re.compile(r"^\s*(?P<col>\w+)\s*(?P<op><=|>=|<>|!=|=|<|>)\s*"
                   r"(?P<lit>'[^']*'|[-+.\dEe]+)\s*$")
_BETWEEN = re.compile(r"^\s*(?P<col>\w+)\s+BETWEEN\s+(?P<lo>'[^']*'|[-+.\dEe]+)\s+AND\s+"
                      r"(?P<hi>'[^']*'|[-+.\dEe]+)\s*$", re.IGNORECASE)


def _literal(text: str) -> Any:
    if text.startswith("'"):
        return text[1:-1]
    try:
        return float(text)
    except ValueError:
        raise AdqlError(f"not a number: {text}") from None


def _split_and(where: str) -> list[str]:
    # Split on AND, but keep "x BETWEEN a AND b" together.
    parts = re.split(r"\s+AND\s+", where.strip().strip("()"), flags=re.IGNORECASE)
    out: list[str] = []
    for part in parts:
        if out and re.search(r"\sBETWEEN\s+\S+\s*$", out[-1], re.IGNORECASE):
            out[-1] = f"{out[-1]} AND {part}"
        else:
            out.append(part)
    return out


def parse_adql(query: str) -> AdqlQuery:
    """Parse the supported ADQL subset (see module docstring).

    Raises
    ------
    AdqlError
        Naming the unsupported construct, table or column.
    """
    m = _SELECT.match(query or "")
    if not m:
        raise AdqlError("unsupported query: expected SELECT [TOP n] cols FROM table "
                        "[WHERE col OP literal [AND ...]] [ORDER BY col [ASC|DESC]]")
    table = m["table"].lower()
    if table not in TABLES:
        raise AdqlError(f"unknown table {m['table']!r}; tables: {', '.join(TABLES)}")
    known = [c[0] for c in TABLES[table]]
    cols_text = m["cols"].strip()
    columns = known if cols_text == "*" else [c.strip().lower() for c in cols_text.split(",")]
    for c in columns:
        if c not in known:
            raise AdqlError(f"unknown or unsupported column {c!r} in {table}")
    conditions = []
    if m["where"]:
        for part in _split_and(m["where"]):
            if re.search(r"\bOR\b|\(|\)", part, re.IGNORECASE):
                raise AdqlError(f"unsupported condition (only AND of simple comparisons): {part}")
            b = _BETWEEN.match(part)
            c = _COND.match(part)
            if b:
                col = b["col"].lower()
                conditions += [(col, ">=", _literal(b["lo"])), (col, "<=", _literal(b["hi"]))]
            elif c:
                conditions.append((c["col"].lower(), c["op"], _literal(c["lit"])))
            else:
                raise AdqlError(f"unsupported condition: {part.strip()}")
    for col, _, _ in conditions:
        if col not in known:
            raise AdqlError(f"unknown column {col!r} in WHERE")
    order = None
    if m["order"]:
        if m["order"].lower() not in known:
            raise AdqlError(f"unknown column {m['order']!r} in ORDER BY")
        order = (m["order"].lower(), (m["dir"] or "").upper() == "DESC")
    return AdqlQuery(table=table, columns=columns, conditions=conditions, order_by=order,
                     top=int(m["top"]) if m["top"] else None)


def _table_rows(table: str, executed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if table == "executed_observations":
        return [{**e, "field_id": -1 if e.get("field_id") is None else e["field_id"],
                 "target": e.get("target") or ""} for e in executed]
    return [{"field": e["field_id"], "rcid": 0, "fid": _FID[e["filter"]], "expid": e["expid"],
             "obsjd": e["obsjd"], "exptime": e["exposure_time"],
             "maglimit": e["limiting_magnitude"], "ipac_gid": 1, "seeing": 2.0,
             "airmass": e["airmass"], "ra": e["ra"], "dec": e["dec"]}
            for e in executed
            if e.get("telescope", "").upper() == "ZTF" and e.get("field_id") is not None
            and e.get("filter") in _FID]


def _comparable(column: str, value: Any, literal: Any) -> tuple[Any, Any]:
    if column == "obs_time":
        def as_time(v: Any) -> dt.datetime:
            t = dt.datetime.fromisoformat(str(v).replace("Z", "+00:00"))
            return t if t.tzinfo else t.replace(tzinfo=dt.UTC)
        try:
            return as_time(value), as_time(literal)
        except ValueError:
            raise AdqlError(
                f"obs_time must be compared with an ISO time, got {literal!r}") from None
    if isinstance(literal, float) and not isinstance(value, (int, float)):
        raise AdqlError(f"column {column!r} is text; compare it with a quoted string")
    if isinstance(literal, str) and isinstance(value, (int, float)):
        raise AdqlError(f"column {column!r} is numeric; compare it with a number")
    return value, literal


def run_query(query: AdqlQuery, executed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of ``query`` over the simulator's executed observations."""
    rows = _table_rows(query.table, executed)
    for col, op, lit in query.conditions:
        rows = [r for r in rows if _OPS[op](*_comparable(col, r[col], lit))]
    if query.order_by:
        col, desc = query.order_by
        rows.sort(key=lambda r: r[col], reverse=desc)
    if query.top is not None:
        rows = rows[:query.top]
    return [{c: r[c] for c in query.columns} for r in rows]


def votable_bytes(query: AdqlQuery, rows: list[dict[str, Any]]) -> bytes:
    """A TAP result VOTable (``QUERY_STATUS=OK``) for these rows."""
    import numpy as np
    from astropy.io.votable import from_table
    from astropy.io.votable.tree import Info
    from astropy.table import Table

    kinds = {c[0]: c for c in TABLES[query.table]}
    dtypes = {"char": object, "int": np.int32, "long": np.int64, "double": np.float64}
    table = Table()
    for col in query.columns:
        _, kind, unit, desc = kinds[col]
        values = [r[col] for r in rows]
        if kind == "char":
            table[col] = np.array([str(v) for v in values], dtype=str) if values else \
                np.array([], dtype="U1")
        else:
            table[col] = np.array(values, dtype=dtypes[kind])
        table[col].description = desc
        if unit:
            table[col].unit = unit
    vot = from_table(table)
    vot.resources[0].type = "results"
    vot.resources[0].infos.append(Info(name="QUERY_STATUS", value="OK"))
    buf = io.BytesIO()
    vot.to_xml(buf)
    return buf.getvalue()


def error_votable(message: str) -> bytes:
    """A TAP error document: ``QUERY_STATUS=ERROR`` with the message."""
    from xml.sax.saxutils import escape

    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">\n'
            '<RESOURCE type="results">\n'
            f'<INFO name="QUERY_STATUS" value="ERROR">{escape(message)}</INFO>\n'
            '</RESOURCE>\n</VOTABLE>\n').encode()


def tables_xml() -> bytes:
    """The VOSI ``/tables`` document listing the published tables and columns."""
    from xml.sax.saxutils import escape

    parts = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<vosi:tableset xmlns:vosi="http://www.ivoa.net/xml/VOSITables/v1.0" '
             'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
             'xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1">',
             '<schema><name>default</name>']
    for name, cols in TABLES.items():
        parts.append(f'<table><name>{escape(name)}</name>')
        for col, kind, unit, desc in cols:
            parts.append(f'<column><name>{col}</name><description>{escape(desc)}</description>'
                         + (f'<unit>{unit}</unit>' if unit else '')
                         + f'<dataType xsi:type="vs:VOTableType">{kind}</dataType></column>')
        parts.append('</table>')
    parts += ['</schema>', '</vosi:tableset>']
    return "\n".join(parts).encode()


def capabilities_xml(base_url: str) -> bytes:
    """The VOSI ``/capabilities`` document: one TAP capability, ADQL, sync only."""
    from xml.sax.saxutils import escape

    url = escape(base_url.rstrip("/"))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1"
    xmlns:tr="http://www.ivoa.net/xml/TAPRegExt/v1.0">
  <capability standardID="ivo://ivoa.net/std/TAP" xsi:type="tr:TableAccess">
    <interface xsi:type="vs:ParamHTTP" role="std"><accessURL use="base">{url}</accessURL>
    </interface>
    <language><name>ADQL</name><version ivo-id="ivo://ivoa.net/std/ADQL#v2.0">2.0</version>
      <description>SELECT [TOP n] cols FROM table [WHERE simple AND ...] [ORDER BY col]
      </description></language>
    <outputFormat><mime>application/x-votable+xml</mime></outputFormat>
    <outputLimit><default unit="row">100000</default><hard unit="row">100000</hard></outputLimit>
  </capability>
  <capability standardID="ivo://ivoa.net/std/VOSI#capabilities">
    <interface xsi:type="vs:ParamHTTP"><accessURL use="full">{url}/capabilities</accessURL>
    </interface>
  </capability>
  <capability standardID="ivo://ivoa.net/std/VOSI#tables">
    <interface xsi:type="vs:ParamHTTP"><accessURL use="full">{url}/tables</accessURL>
    </interface>
  </capability>
</vosi:capabilities>
""".encode()
