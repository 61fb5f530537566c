"""The simulator's ADQL subset and VOTable answers (pure)."""

from __future__ import annotations

import io

import pytest
from astropy.io.votable import parse

from tooflow.simulator.tap import (
    AdqlError,
    capabilities_xml,
    error_votable,
    parse_adql,
    run_query,
    tables_xml,
    votable_bytes,
)

EXECUTED = [  # the shape Simulator.executed() returns
    {"request_key": "ZTF:f819:r:1", "telescope": "ZTF", "queue_name": "ZTF", "event_id": "E",
     "field_id": 819, "target": None, "ra": 180.0, "dec": 62.15, "filter": "r",
     "exposure_time": 30.0, "obs_time": "2019-04-25T08:10:00+00:00", "obsjd": 2458598.840278,
     "airmass": 1.26, "limiting_magnitude": 20.5, "expid": 1},
    {"request_key": "Gattini:f790:J:1", "telescope": "Gattini", "queue_name": "Gattini",
     "event_id": "E", "field_id": 790, "target": "M101", "ra": 191.39, "dec": 54.95,
     "filter": "J", "exposure_time": 40.5, "obs_time": "2019-04-25T09:00:00+00:00",
     "obsjd": 2458598.875, "airmass": 1.1, "limiting_magnitude": 16.4, "expid": 2},
]


def test_parse_supported_shapes():
    q = parse_adql("select top 5 ra, dec from EXECUTED_OBSERVATIONS "
                   "where obs_time >= '2019-04-25T08:30:00' and field_id != 3 "
                   "order by obsjd desc;")
    assert q.table == "executed_observations" and q.columns == ["ra", "dec"] and q.top == 5
    assert q.conditions == [("obs_time", ">=", "2019-04-25T08:30:00"), ("field_id", "!=", 3.0)]
    assert q.order_by == ("obsjd", True)
    between = parse_adql("SELECT * FROM ztf.ztf_current_meta_sci "
                         "WHERE obsjd BETWEEN 2458598.5 AND 2458599.5 AND fid = 2")
    assert between.conditions == [("obsjd", ">=", 2458598.5), ("obsjd", "<=", 2458599.5),
                                  ("fid", "=", 2.0)]


def test_run_query_filters_both_tables():
    q = parse_adql("SELECT request_key FROM executed_observations "
                   "WHERE obs_time > '2019-04-25T08:30:00Z'")
    assert run_query(q, EXECUTED) == [{"request_key": "Gattini:f790:J:1"}]
    ztf = run_query(parse_adql("SELECT field, fid, maglimit FROM ztf.ztf_current_meta_sci"),
                    EXECUTED)
    assert ztf == [{"field": 819, "fid": 2, "maglimit": 20.5}]  # only ZTF exposures


@pytest.mark.parametrize("query, message", [
    ("DELETE FROM executed_observations", "unsupported query"),
    ("SELECT * FROM executed_observations WHERE ra > 1 OR dec < 2", "only AND"),
    ("SELECT * FROM executed_observations WHERE CONTAINS(POINT(ra, dec), "
     "CIRCLE(1, 2, 3)) = 1", "only AND"),
    ("SELECT * FROM executed_observations WHERE filter > 3", None),
    ("SELECT * FROM executed_observations ORDER BY nothing", "unknown column 'nothing'"),
    ("SELECT * FROM executed_observations WHERE nothing = 1", "unknown column 'nothing'"),
])
def test_unsupported_queries_raise(query, message):
    if message is None:  # type mismatch is found when the rows are compared
        with pytest.raises(AdqlError, match="is text"):
            run_query(parse_adql(query), EXECUTED)
    else:
        with pytest.raises(AdqlError, match=message):
            parse_adql(query)


def test_votable_answers_parse_with_astropy():
    q = parse_adql("SELECT * FROM executed_observations")
    vot = parse(io.BytesIO(votable_bytes(q, run_query(q, EXECUTED))))
    table = vot.get_first_table().to_table()
    assert list(table["request_key"]) == ["ZTF:f819:r:1", "Gattini:f790:J:1"]
    assert list(table["field_id"]) == [819, 790] and str(table["ra"].unit) == "deg"
    assert [i.value for i in vot.resources[0].infos if i.name == "QUERY_STATUS"] == ["OK"]
    empty = parse(io.BytesIO(votable_bytes(q, []))).get_first_table().to_table()
    assert len(empty) == 0 and "obs_time" in empty.colnames
    err = parse(io.BytesIO(error_votable("bad <query>")))
    assert [(i.value, i.content) for i in err.resources[0].infos] == [("ERROR", "bad <query>")]


def test_vosi_documents_name_the_tables():
    assert b"<name>ztf.ztf_current_meta_sci</name>" in tables_xml()
    assert b'standardID="ivo://ivoa.net/std/TAP"' in capabilities_xml("http://h/tap")
    assert b"http://h/tap/capabilities" in capabilities_xml("http://h/tap/")
