"""PostgreSQL ``COPY ... FROM STDIN (FORMAT binary)`` of rows given as dicts.

psycopg2 sends every parameter as text: a ``bytea`` value goes in the SQL as
a hex literal twice its size, which the server lexes then decodes. A binary
COPY sends the bytes as they are, length-prefixed; on the candidate packets
(60-75 kB each) the server takes several times less time per row. The types
encoded are those of the tables copied this way (integers, floats, booleans,
strings, bytes, timezone-aware timestamps); any other raises ``TypeError``
before anything is sent. Errors come back as SQLAlchemy's (an
:class:`~sqlalchemy.exc.IntegrityError` for a unique key, a connection lost
marked invalidated), as from any statement, so the retry policy
(:mod:`tooflow.db.retry`) and the callers see no difference.

Hand-written rather than the ``pgcopy`` package: that one depends on the
``psycopg2`` source distribution, which would be built beside the project's
``psycopg2-binary`` and install over the same module.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import struct
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Float, Integer, LargeBinary, String, Table
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import SmallInteger, TypeDecorator

__all__ = ["copy_rows", "encode_binary_copy"]

_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_TRAILER = struct.pack("!h", -1)
_NULL = struct.pack("!i", -1)
_PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


def _sized(data: bytes) -> bytes:
    return struct.pack("!i", len(data)) + data


def _timestamptz(value: dt.datetime) -> bytes:
    if value.tzinfo is None:
        raise ValueError("naive datetime refused: tooflow stores UTC-aware times only")
    return struct.pack("!iq", 8, (value - _PG_EPOCH) // _MICROSECOND)


def _encoder(column) -> Callable[[Any], bytes]:
    """The function turning a value of ``column`` (not None) into its binary COPY field."""
    kind = column.type
    bind: Callable[[Any], Any] | None = None
    if isinstance(kind, TypeDecorator):  # e.g. UTCDateTime: its checks, then its impl's encoding
        if type(kind).process_bind_param is not TypeDecorator.process_bind_param:
            bind = functools.partial(kind.process_bind_param, dialect=None)
        kind = kind.impl_instance
    if isinstance(kind, BigInteger):
        encode = lambda v: struct.pack("!iq", 8, v)  # noqa: E731
    elif isinstance(kind, SmallInteger):
        encode = lambda v: struct.pack("!ih", 2, v)  # noqa: E731
    elif isinstance(kind, Integer):
        encode = lambda v: struct.pack("!ii", 4, v)  # noqa: E731
    elif isinstance(kind, Float) and not kind.asdecimal:
        encode = lambda v: struct.pack("!id", 8, v)  # noqa: E731
    elif isinstance(kind, Boolean):
        encode = lambda v: struct.pack("!i?", 1, v)  # noqa: E731
    elif isinstance(kind, LargeBinary):
        encode = lambda v: _sized(bytes(v))  # noqa: E731
    elif isinstance(kind, String):
        encode = lambda v: _sized(v.encode("utf-8"))  # noqa: E731
    elif isinstance(kind, DateTime) and kind.timezone:
        encode = _timestamptz
    else:
        raise TypeError(f"binary COPY of {column.table.name}.{column.name} ({column.type!r}) "
                        "is not supported")
    if bind is None:
        return encode
    return lambda v: encode(bind(v))


def encode_binary_copy(table: Table, columns: Sequence[str], rows: Sequence[dict]) -> bytes:
    """The ``COPY ... (FORMAT binary)`` stream of ``rows`` (each a dict with ``columns``).

    Parameters
    ----------
    table : Table
        Its columns' SQLAlchemy types choose each field's encoding.
    columns : sequence of str
        Column names, in the order of the COPY's column list.
    rows : sequence of dict
        Every row has every column (None for NULL).

    Returns
    -------
    bytes
        Header, one tuple per row, trailer.
    """
    fields = [(name, _encoder(table.c[name])) for name in columns]
    count = struct.pack("!h", len(columns))
    parts = [_HEADER]
    append = parts.append
    for row in rows:
        append(count)
        for name, encode in fields:
            value = row[name]
            append(_NULL if value is None else encode(value))
    append(_TRAILER)
    return b"".join(parts)


def copy_rows(connection: Connection, table: Table, rows: Sequence[dict]) -> int:
    """Insert ``rows`` into ``table`` with one binary COPY, in the connection's transaction.

    PostgreSQL (psycopg2) only. The columns are the keys of the first row;
    every row must have the same keys.

    Parameters
    ----------
    connection : Connection
        A SQLAlchemy connection (``session.connection()`` inside a session).
    table : Table
        The table.
    rows : sequence of dict
        The rows; nothing is sent when empty.

    Returns
    -------
    int
        The number of rows copied.

    Raises
    ------
    sqlalchemy.exc.DBAPIError
        As a statement would (``IntegrityError`` for a unique key violated).
    """
    if not rows:
        return 0
    columns = list(rows[0])
    data = encode_binary_copy(table, columns, rows)
    quote = connection.dialect.identifier_preparer
    sql = (f"COPY {quote.format_table(table)} ({', '.join(quote.quote(c) for c in columns)}) "
           "FROM STDIN WITH (FORMAT binary)")
    raw = connection.connection.dbapi_connection
    dbapi = connection.dialect.loaded_dbapi
    cursor = raw.cursor()
    try:
        cursor.copy_expert(sql, io.BytesIO(data))
    except dbapi.Error as exc:
        lost = connection.dialect.is_disconnect(exc, raw, cursor)
        if lost:
            connection.invalidate(exc)
        raise DBAPIError.instance(sql, None, exc, dbapi.Error, connection_invalidated=lost,
                                  dialect=connection.dialect) from exc
    finally:
        if not cursor.closed:
            cursor.close()
    return len(rows)
