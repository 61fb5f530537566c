"""The simulator's transient sky over loopback HTTP: injections in, ZTF alert packets out.

The exposures are the first ones ZTF really took for S190425z (SkyPortal's
observation log, as in test_facilities_simulator.py), from their real start.
"""

from __future__ import annotations

import base64
import datetime as dt

import httpx

from tests.test_facilities_simulator import START, plan, s190425z_ztf_log, wait_until
from tooflow.candidates.association import candidate_from_parsed
from tooflow.candidates.ztf import parse_ztf_alert
from tooflow.facilities import get_facility
from tooflow.simulator import SimulatorServer
from tooflow.simulator.injection import Injection


def test_an_injection_on_an_observed_field_comes_back_as_ztf_alerts():
    rows = s190425z_ztf_log(6)
    observations = plan(rows)
    first = observations[0]
    # on a CCD of the first field, 0.5 deg from its centre (the camera's centre is a chip gap)
    inj = Injection(event_id="S190425z", model="kilonova", ra=first.ra + 0.5,
                    dec=first.dec + 0.5, distance_mpc=60.0,
                    t0=(START - dt.timedelta(hours=8)).isoformat(),
                    object_id="ZTF19drillaa", seed=1)
    with SimulatorServer(speedup=3600, weather_loss=0.0, seed=7, start=START) as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as client:
        bad = client.post("/injections", json={"event_id": "x"})
        assert bad.status_code == 400 and "not an injection record" in bad.json()["detail"]
        unknown = client.post("/injections", json={**inj.__dict__, "model": "supernova"})
        assert unknown.status_code == 400 and "supernova" in unknown.json()["detail"]
        assert client.post("/injections", json=inj.__dict__).status_code == 200
        assert client.get("/injections").json()["injections"][0]["object_id"] == "ZTF19drillaa"
        with get_facility("simulator", {"url": srv.url}) as sim:
            sim.submit(observations, event_id="S190425z", program="GW")
            keys = [o.request_key for o in observations]
            wait_until(lambda: all(q.status == "completed" for q in sim.status(keys)))
        rows = client.get("/detections").json()["detections"]
        assert rows and all("kind" not in r for r in rows)  # the truth stays inside
        mine = [r for r in rows if r["object_id"] == "ZTF19drillaa"]
        on_field = sum(o.field_id == first.field_id for o in observations)
        assert len(mine) == on_field  # ~17 mag at 60 Mpc, 8 h after: in every exposure
        packet = client.get(f"/alerts/{mine[-1]['candid']}")
        assert packet.status_code == 200
        assert packet.headers["content-type"] == "application/avro"
        alert = parse_ztf_alert(packet.content, now=START + dt.timedelta(days=1))
        assert alert.object_id == "ZTF19drillaa" and alert.magpsf < 18.5
        assert len([p for p in alert.photometry if p.mag is not None]) == on_field
        cand = candidate_from_parsed(alert)
        assert abs(cand.ra - inj.ra) * 3600 < 1
        stream = client.get("/alerts", params={"since": START.isoformat(), "limit": 3}).json()
        assert stream["count"] == 3
        parse_ztf_alert(base64.b64decode(stream["alerts"][0]["packet"]),
                        now=START + dt.timedelta(days=1))
        assert client.get("/alerts/1").status_code == 404
