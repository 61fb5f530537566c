"""ZTF adapter: the ToO queue JSON, the queue API exchange, executed exposures by TAP."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
import time

import pytest
from astropy.time import Time

from tests.test_facilities_simulator import START, plan, s190425z_ztf_log
from tests.waiting import HANG
from tooflow.facilities import FacilityConfig, FacilityError, get_facility
from tooflow.facilities.ztf import ZTF_FILTER_IDS, ztf_queue_name, ztf_request_id
from tooflow.observations import PlannedObservation
from tooflow.simulator import SimulatorServer

WINDOW = (START, START + dt.timedelta(days=1))


def test_payload_has_the_ztf_too_queue_shape():
    observations = plan(s190425z_ztf_log(4))
    ztf = get_facility("ZTF", {"program": "GW", "user": "onduty",
                               "extra": {"program_id": "Partnership"}})
    payload = ztf.build_request(observations, event_id="S190425z", window=WINDOW)
    assert set(payload) == {"queue_name", "validity_window_mjd", "queue_type", "user",
                            "targets"}
    assert payload["queue_name"] == "ToO_GW_S190425z"
    assert payload["queue_type"] == "list"
    assert payload["validity_window_mjd"] == pytest.approx([Time(START).mjd,
                                                            Time(START).mjd + 1], abs=1e-6)
    assert payload["validity_window_mjd"][0] == pytest.approx(58598.340278, abs=1e-6)  # 08:10 UTC
    targets = payload["targets"]
    assert [t["field_id"] for t in targets] == [819, 790, 756, 716]
    assert [t["filter_id"] for t in targets] == [2, 2, 2, 2]
    assert {t["program_id"] for t in targets} == {2}
    assert {t["subprogram_name"] for t in targets} == {"ToO_GW"}
    assert {t["program_pi"] for t in targets} == {"Kulkarni/onduty"}
    assert targets[0]["ra"] == 180.0 and targets[0]["dec"] == 62.15
    assert [t["request_key"] for t in targets] == [o.request_key for o in observations]
    # request ids are stable across runs and distinct within the queue
    assert [t["request_id"] for t in targets] == [ztf_request_id(o.request_key)
                                                  for o in observations]
    assert len({t["request_id"] for t in targets}) == 4
    assert ztf.build_request(observations, event_id="S190425z", window=WINDOW) == payload


def test_the_configured_extra_reaches_the_payload_typed(tooflow_home):
    """``facilities.ZTF.extra`` is checked when the settings load; the adapter built from
    them sends what it says (a program named, a PI, numbers written as text)."""
    from tooflow.config import load_settings
    from tooflow.facilities.routing import facility_for

    (tooflow_home / "tooflow.yaml").write_text(
        "facilities:\n  ZTF:\n    adapter: ZTF\n    url: http://127.0.0.1:9\n"
        "    extra: {program_id: Caltech, program_pi: Kasliwal}\n"
        "  DECam: {adapter: DECam, url: 'http://127.0.0.1:9', extra: {propid: 2019}}\n")
    settings = load_settings()
    assert settings.facilities.telescope("ZTF").extra.program_id == 3
    with facility_for("ZTF", settings) as ztf:
        payload = ztf.build_request(plan(s190425z_ztf_log(2)), event_id="S190425z",
                                    window=WINDOW)
    assert {(t["program_id"], t["program_pi"]) for t in payload["targets"]} == {
        (3, "Kasliwal/tooflow")}
    with facility_for("DECam", settings) as decam:
        assert decam.extra.propid == "2019"  # a number written for the id is its text
    with pytest.raises(ValueError, match="program_id\n.*allowed: 2 \\(Partnership\\)"):
        get_facility("ZTF", {"extra": {"program_id": 1}})


def test_filters_map_to_ztf_filter_ids_and_bad_input_is_refused():
    assert ZTF_FILTER_IDS == {"g": 1, "r": 2, "i": 3}
    obs = plan(s190425z_ztf_log(1))[0]
    ztf = get_facility("ZTF")
    g = PlannedObservation("ZTF", obs.ra, obs.dec, "g", 30.0, START, field_id=819)
    assert ztf.build_request([g], event_id="S190425z")["targets"][0]["filter_id"] == 1
    with pytest.raises(FacilityError, match="needs a field id"):
        ztf.build_request([PlannedObservation("ZTF", 1.0, 2.0, "r", 30.0, START)],
                          event_id="S190425z")
    with pytest.raises(FacilityError, match="no filter 'J'"):
        ztf.build_request([PlannedObservation("ZTF", 1.0, 2.0, "J", 30.0, START, field_id=1)],
                          event_id="S190425z")
    with pytest.raises(FacilityError, match="observation for 'DECam'"):
        ztf.build_request([PlannedObservation("DECam", 1.0, 2.0, "r", 30.0, START)],
                          event_id="S190425z")
    with pytest.raises(ValueError, match="timezone-aware"):
        ztf.build_request([obs], event_id="S190425z",
                          window=(dt.datetime(2019, 4, 25), dt.datetime(2019, 4, 26)))
    assert ztf_queue_name("MS181101ab", "GW BNS") == "ToO_GW_BNS_MS181101ab"


class ZTFQueueAPI(http.server.BaseHTTPRequestHandler):
    """The ZTF scheduler's /api/triggers/ztf, in memory: PUT adds, GET lists,
    DELETE removes a queue (an existing queue name is answered 409)."""

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict:
        return json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def _auth(self) -> bool:
        if self.headers.get("Authorization") != "Bearer ztf-token":
            self._reply(401, {"message": "unauthorized"})
            return False
        if self.path != "/api/triggers/ztf":
            self._reply(404, {"message": "not found"})
            return False
        return True

    def do_PUT(self) -> None:
        if self._auth():
            body = self._body()
            if body["queue_name"] in self.server.queues:
                return self._reply(409, {"message": "queue already exists"})
            self.server.queues[body["queue_name"]] = body
            self._reply(201, {"message": "queue added"})

    def do_GET(self) -> None:
        if self._auth():
            self._reply(200, {"data": [
                {"queue_name": q["queue_name"], "validity_window_mjd": q["validity_window_mjd"],
                 "queue": json.dumps(q["targets"])} for q in self.server.queues.values()]})

    def do_DELETE(self) -> None:
        if self._auth():
            self.server.queues.pop(self._body()["queue_name"], None)
            self._reply(200, {"message": "queue deleted"})

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def ztf_api():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ZTFQueueAPI)
    server.queues = {}
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", server
    server.shutdown()
    server.server_close()


def test_submit_status_cancel_against_the_queue_api(ztf_api, monkeypatch):
    url, server = ztf_api
    monkeypatch.setenv("TOOFLOW_ZTF_TOKEN", "ztf-token")
    observations = plan(s190425z_ztf_log(3))
    keys = [o.request_key for o in observations]
    config = FacilityConfig(url=url, token_env="TOOFLOW_ZTF_TOKEN", program="GW")
    with get_facility("ZTF", config) as ztf:
        first = ztf.submit(observations, event_id="S190425z", window=WINDOW)
        again = ztf.submit(observations, event_id="S190425z", window=WINDOW)  # 409: exists
        assert [q.status for q in first + again] == ["submitted"] * 6
        assert {q.queue_id for q in first} == {"ToO_GW_S190425z"}
        assert list(server.queues) == ["ToO_GW_S190425z"]
        assert len(server.queues["ToO_GW_S190425z"]["targets"]) == 3
        assert [q.status for q in ztf.status(keys)] == ["queued"] * 3
        assert [q.status for q in ztf.cancel(keys)] == ["cancelled"] * 3
        assert server.queues == {}
        assert [q.status for q in ztf.status(keys)] == ["unknown"] * 3
        assert ztf.health() == {"ok": True, "facility": "ZTF", "queues": 0}
        methods = [(t.method, t.status) for t in ztf.transactions]
    assert methods[:2] == [("PUT", 201), ("PUT", 409)]
    assert ("DELETE", 200) in methods
    assert all("ztf-token" not in json.dumps(t.as_dict()) for t in ztf.transactions)


def test_missing_token_is_a_clear_error(ztf_api):
    url, _ = ztf_api
    with get_facility("ZTF", {"url": url, "token_env": "TOOFLOW_ZTF_TOKEN"}) as ztf, \
            pytest.raises(FacilityError, match="answered 401"):
        ztf.submit(plan(s190425z_ztf_log(1)), event_id="S190425z")


def test_executed_exposures_read_by_tap_with_ztf_column_names():
    observations = plan(s190425z_ztf_log(5))
    with SimulatorServer(speedup=3600, weather_loss=0.0, start=START) as srv:
        with get_facility("Simulator", {"url": srv.url}) as sim:
            sim.submit(observations, event_id="S190425z")
            keys = [o.request_key for o in observations]
            deadline = time.monotonic() + HANG
            while any(q.status != "completed" for q in sim.status(keys)):
                assert time.monotonic() < deadline
                time.sleep(0.05)
            from_queue = sim.executed(START)
        with get_facility("ZTF", {"tap_url": srv.tap_url}) as ztf:
            from_tap = ztf.executed(START - dt.timedelta(minutes=1))
            later = ztf.executed(max(e.obs_time for e in from_queue) + dt.timedelta(seconds=1))
            assert [t.url.endswith("/tap/sync") for t in ztf.transactions] == [True, True]
    assert [(e.field_id, e.filter) for e in from_tap] == [(819, "r"), (790, "r"), (756, "r"),
                                                          (716, "r"), (717, "r")]
    queue_by_field = {e.field_id: e for e in from_queue}
    for e in from_tap:
        q = queue_by_field[e.field_id]
        assert e.telescope == "ZTF" and e.exposure_time == 30.0
        assert abs((e.obs_time - q.obs_time).total_seconds()) < 0.01  # via JD
        assert e.limiting_magnitude == pytest.approx(q.limiting_magnitude)
        assert (e.ra, e.dec) == (q.ra, q.dec)
    assert later == []


def test_executed_needs_a_tap_url():
    with pytest.raises(FacilityError, match="no TAP URL"):
        get_facility("ZTF").executed(START)
