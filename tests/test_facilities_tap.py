"""pyvo TAP queries against the simulator's TAP endpoint, for real."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.test_facilities_simulator import START, plan, s190425z_ztf_log
from tooflow.facilities import FacilityError, get_facility
from tooflow.facilities.tap import SIMULATOR_COLUMNS, ZTF_COLUMNS, executed_from_tap
from tooflow.simulator import Simulator, SimulatorServer, free_port


@pytest.fixture(scope="module")
def observed():
    """A simulator whose ZTF queue observed the first 6 S190425z fields (clock stopped)."""
    wall = [0.0]
    sim = Simulator(speedup=1.0, weather_loss=0.0, start=START, clock=lambda: wall[0])
    with SimulatorServer(sim) as srv, get_facility("Simulator", {"url": srv.url}) as facility:
        facility.submit(plan(s190425z_ztf_log(6)), event_id="S190425z")
        wall[0] = 3600.0  # one simulated hour later
        yield srv, facility.executed(START - dt.timedelta(hours=1))


def test_executed_observations_round_trip_through_votable(observed):
    srv, from_queue = observed
    assert len(from_queue) == 6
    transactions = []
    rows = executed_from_tap(srv.tap_url, "SELECT * FROM executed_observations "
                             f"WHERE obs_time > '{START.isoformat()}'",
                             transactions=transactions)
    assert rows == sorted(from_queue, key=lambda e: e.obs_time)[1:]  # first is at START
    assert [(t.method, t.status) for t in transactions] == [("POST", 200)]
    assert transactions[0].url.endswith("/tap/sync")


def test_where_between_order_top_and_column_selection(observed):
    srv, from_queue = observed
    jds = sorted(e.obs_time for e in from_queue)
    from astropy.time import Time

    lo, hi = Time(jds[1]).jd - 1e-6, Time(jds[3]).jd + 1e-6
    query = ("SELECT TOP 2 field, fid, expid, obsjd, exptime, maglimit, ra, dec "
             f"FROM ztf.ztf_current_meta_sci WHERE obsjd BETWEEN {lo} AND {hi} "
             "AND fid = 2 ORDER BY obsjd DESC")
    rows = executed_from_tap(srv.tap_url, query, columns=ZTF_COLUMNS, telescope="ZTF")
    # TOP 2 of the DESC order (re-sorted); JD keeps time to well under a millisecond
    assert [abs((r.obs_time - t).total_seconds()) < 1e-3 for r, t in
            zip(rows, [jds[2], jds[3]], strict=True)] == [True, True]
    assert all(r.filter == "r" and r.request_key is None for r in rows)


@pytest.mark.parametrize("query, message", [
    ("SELECT * FROM executed_observations WHERE field_id = 1 OR field_id = 2",
     "only AND of simple comparisons"),
    ("SELECT * FROM ivoa.obscore", "unknown table 'ivoa.obscore'"),
    ("SELECT e.ra FROM executed_observations AS e JOIN x", "unsupported query"),
    ("SELECT seeing FROM executed_observations", "unknown or unsupported column 'seeing'"),
    ("SELECT * FROM executed_observations WHERE obs_time > 2458598.5",
     "obs_time must be compared with an ISO time"),
    ("SELECT COUNT(*) FROM executed_observations", "unknown or unsupported column"),
])
def test_unsupported_queries_are_rejected_clearly(observed, query, message):
    srv, _ = observed
    with pytest.raises(FacilityError, match="TAP query to .* failed") as info:
        executed_from_tap(srv.tap_url, query)
    assert message in str(info.value)


def test_result_without_the_mapped_columns_is_a_clear_error(observed):
    srv, _ = observed
    with pytest.raises(FacilityError, match="lacks column.*limiting_magnitude"):
        executed_from_tap(srv.tap_url, "SELECT obs_time, filter, exposure_time, ra, dec "
                          "FROM executed_observations", columns=SIMULATOR_COLUMNS)


def test_unreachable_tap_service_is_a_facility_error():
    with pytest.raises(FacilityError, match="TAP query to"):
        executed_from_tap(f"http://127.0.0.1:{free_port()}/tap",
                          "SELECT * FROM executed_observations", timeout=2)


def test_a_trickling_tap_service_cannot_hold_the_query_past_its_deadline():
    """Issue 10: the TAP query has a total deadline, not only a per-read timeout."""
    import time

    from tests.slow_http import trickling_server

    with trickling_server() as slow:
        transactions = []
        start = time.monotonic()
        with pytest.raises(FacilityError, match=r"TAP query to .* 2 s deadline"):
            executed_from_tap(slow.url + "/tap", "SELECT * FROM executed_observations",
                              timeout=10, deadline=2, transactions=transactions)
        assert time.monotonic() - start < 2 + 10
    assert slow.requests == 1 and "deadline" in transactions[-1].error
