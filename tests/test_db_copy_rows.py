"""Binary COPY of rows on PostgreSQL (tooflow/db/copy_rows.py): errors as any statement's."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError

from tooflow.candidates.store import store_alert
from tooflow.db.copy_rows import copy_rows
from tooflow.db.retry import is_transient_database_error
from tooflow.models import CandidateAlert
from tooflow.models._types import utcnow

PACKET = Path(__file__).parent / "data" / "candidates" / "ztf" / "472263571115115000.avro"


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_connection_lost_during_a_copy_is_transient_and_the_next_store_reconnects(engine):
    payload = PACKET.read_bytes()
    row = {"sha256": hashlib.sha256(payload).hexdigest(), "payload": payload,
           "size": len(payload), "source": "kafka:ztf", "format": "ztf-avro",
           "received": utcnow(), "status": "received"}
    with engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with engine.connect() as admin:  # returns once the backend is gone (or 10 s passed)
            assert admin.exec_driver_sql(f"SELECT pg_terminate_backend({pid}, 10000)").scalar()
        with pytest.raises(DBAPIError) as lost:
            copy_rows(conn, CandidateAlert.__table__, [row])
    assert lost.value.connection_invalidated
    assert is_transient_database_error(lost.value)  # the listener's retry stores it again
    stored = store_alert(payload, "kafka:ztf", engine=engine)
    assert stored.created and stored.status == "received"
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM candidate_alert").scalar() == 1
