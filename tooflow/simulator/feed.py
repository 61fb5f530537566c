"""The simulator's alerts for a drill: arm an injection, hand the event's packets over.

A drill (``tooflow ingest NOTICE --inject kilonova``, docs/candidates-drill.md)

1. draws a counterpart from the notice's own sky map (:func:`injection_for_notice`)
   and records it under ``$TOOFLOW_HOME/drills/``;
2. arms the simulator with it (:func:`arm_injection`, or ``POST /injections``):
   from then on every exposure the simulator executes yields alerts;
3. after the observations, takes the alerts a broker filter for the event
   would pass — inside its credible region, no detection before the event —
   as ZTF Avro packets, one per object with its whole history
   (:func:`event_packets`, or ``GET /detections`` then ``GET /alerts/{candid}``),
   which the candidate path stores, associates and ranks like real ones.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

from tooflow.simulator.injection import MODELS, Injection, draw_injection, load_injection
from tooflow.simulator.transients import BackgroundRates, Detection, TransientSky

__all__ = ["arm_injection", "injection_for_notice", "detection_rows", "event_packets",
           "post_injection", "fetch_event_packets", "packet_for", "packets_b64", "drill_dir",
           "save_drill", "load_drills", "parse_inject_option"]


def parse_inject_option(text: str) -> dict[str, Any]:
    """``kilonova``, ``kilonova:7`` or ``afterglow:3:1.5`` → model, seed, spread.

    >>> parse_inject_option("kilonova:7")
    {'model': 'kilonova', 'seed': 7, 'spread': 1.0}
    """
    parts = str(text).split(":")
    model = parts[0].strip().lower()
    if model not in MODELS:
        raise ValueError(f"--inject: unknown model {model!r}; one of {', '.join(MODELS)} "
                         "(MODEL[:SEED[:SPREAD]])")
    try:
        seed = int(parts[1]) if len(parts) > 1 and parts[1] else 0
        spread = float(parts[2]) if len(parts) > 2 and parts[2] else 1.0
    except ValueError:
        raise ValueError(f"--inject {text!r}: SEED must be an integer and SPREAD a number "
                         "of magnitudes (MODEL[:SEED[:SPREAD]])") from None
    if len(parts) > 3 or spread < 0:
        raise ValueError(f"--inject {text!r}: expected MODEL[:SEED[:SPREAD]], SPREAD ≥ 0")
    return {"model": model, "seed": seed, "spread": spread}


def injection_for_notice(payload: bytes, *, model: str = "kilonova", seed: int = 0,
                         spread: float = 1.0, t0: dt.datetime | None = None,
                         distance_mpc: float | None = None) -> Injection:
    """Draw a counterpart from the sky map a notice carries.

    The drill replays the notice *now*: the counterpart's clock starts at
    ``t0`` (default: the current time), as if the event had just happened,
    since the simulator observes from now on; the notice's own event time is
    kept in ``params["event_time"]``.

    Raises
    ------
    ValueError
        A notice without an embedded sky map (a drill needs the map to draw from).
    """
    from tooflow.parsers import parse_notice
    from tooflow.skymap.read import read_skymap_bytes

    notice = parse_notice(payload)
    loc = notice.localization
    if loc is None or not loc.skymap_bytes:
        raise ValueError(f"{notice.event_id}: the notice carries no sky map to draw a "
                         "counterpart from (a drill needs an LVK notice with its map)")
    moc = read_skymap_bytes(loc.skymap_bytes)
    t0 = t0 or dt.datetime.now(dt.UTC)
    params = {"event_time": notice.time.isoformat() if notice.time else None}
    return draw_injection(moc, t0, event_id=notice.event_id, model=model, seed=seed,
                          spread=spread, distance_mpc=distance_mpc, params=params)


def arm_injection(simulator: Any, injection: Injection, *,
                  rates: BackgroundRates | None = None) -> None:
    """Put ``injection`` on the simulator's sky (the sky is created on first use,
    seeded with the simulator's seed, its populations around the simulator's start).

    Raises
    ------
    ValueError
        An unknown light-curve model or parameter.
    """
    from tooflow.simulator.transients import counterpart_light_curve

    light_curve = counterpart_light_curve(injection)  # raises for a bad model
    light_curve("r", 1.0)
    if simulator.sky is None:
        simulator.show_sky(TransientSky(seed=simulator.seed, epoch=simulator.start,
                                        rates=rates))
    simulator.sky.add_injection(injection, light_curve)


def drill_dir(home: Path) -> Path:
    """Where drills are recorded: ``$TOOFLOW_HOME/drills``."""
    return Path(home) / "drills"


def save_drill(home: Path, injection: Injection) -> Path:
    """Record an injection as ``drills/<event id>-<object id>.json``."""
    return injection.save(drill_dir(home) / f"{injection.event_id}-{injection.object_id}.json")


def load_drills(home: Path, event_id: str) -> list[Injection]:
    """The recorded injections of an event."""
    d = drill_dir(home)
    if not d.is_dir():
        return []
    return [load_injection(p) for p in sorted(d.glob("*.json"))
            if json.loads(p.read_text()).get("event_id") == event_id]


#: What a pipeline sees of a detection (never its truth, ``kind``).
_PUBLIC = ("object_id", "candid", "ra", "dec", "jd", "filter", "mag", "magerr", "maglim",
           "rb", "drb", "sgscore1", "distpsnr1", "srmag1", "ssdistnr", "ssmagnr", "ssnamenr",
           "jdstarthist", "field_id", "telescope")


def detection_rows(detections: list[Detection]) -> list[dict[str, Any]]:
    """Detections as JSON rows, without the truth."""
    return [{k: getattr(d, k) for k in _PUBLIC} for d in detections]


def packet_for(simulator: Any, det: Detection) -> bytes:
    """The ZTF Avro packet of one detection, with its history in this simulation."""
    from tooflow.simulator.packets import alert_record, packet_bytes

    return packet_bytes(alert_record(det, simulator.sky.previous(det)))


def packets_b64(simulator: Any, detections: list[Detection]) -> list[dict[str, Any]]:
    """Packets of detections as JSON: ``candid``, ``objectId``, ``jd``, ``packet`` (base64)."""
    return [{"candid": d.candid, "objectId": d.object_id, "jd": d.jd,
             "packet": base64.b64encode(packet_for(simulator, d)).decode()}
            for d in detections]


def event_packets(simulator: Any, event, *, level: float = 0.9,
                  margin_days: float = 0.0) -> list[bytes]:
    """The packets a broker filter for ``event`` passes: one per associated object.

    ``event`` is an :class:`~tooflow.candidates.association.EventLocalization`;
    an object is kept when it is inside the ``level`` credible region with no
    detection before ``t0 − margin_days``; its latest detection's packet
    carries its whole history.
    """
    from tooflow.candidates.association import associate
    from tooflow.simulator.drill import candidates_from_detections

    if simulator.sky is None:
        return []
    dets = simulator.alerts()
    cands = candidates_from_detections(dets)
    keep = {a.candidate.name for a in associate(list(cands.values()), event, level=level,
                                                margin_days=margin_days) if a.associated}
    latest: dict[str, Detection] = {}
    for d in dets:
        if d.object_id in keep and (d.object_id not in latest or d.jd > latest[d.object_id].jd):
            latest[d.object_id] = d
    return [packet_for(simulator, d) for d in sorted(latest.values(), key=lambda d: d.jd)]


def post_injection(url: str, injection: Injection, *, deadline_s: float = 60.0) -> None:
    """Arm a running simulator (``POST /injections``) within a total deadline.

    Raises
    ------
    RuntimeError
        The simulator refused it (the reason it gave).
    """
    import httpx

    from tooflow.guards.deadline import Deadline, read_response

    deadline = Deadline(deadline_s, f"arming the simulator at {url}")
    with httpx.Client(base_url=url) as client:
        answer = read_response(client, client.build_request(
            "POST", "/injections", json=injection.__dict__), deadline)
    if answer.status_code != 200:
        raise RuntimeError(f"the simulator at {url} refused the injection: "
                           f"{answer.status_code} {answer.text[:300]}")


def fetch_event_packets(url: str, event, *, level: float = 0.9, margin_days: float = 0.0,
                        deadline_s: float = 600.0, max_packets: int = 20000) -> list[bytes]:
    """The simulator's packets a broker filter for ``event`` passes, over HTTP.

    ``GET /detections`` (all, as JSON), association with ``event`` (an
    :class:`~tooflow.candidates.association.EventLocalization`), then
    ``GET /alerts/{candid}`` for the latest detection of each associated
    object, all within one total deadline.
    """
    import httpx

    from tooflow.candidates.association import CandidateInfo, Photometry, associate
    from tooflow.guards.deadline import Deadline, read_response

    deadline = Deadline(deadline_s, f"fetching the simulator's alerts from {url}")
    with httpx.Client(base_url=url) as client:
        answer = read_response(client, client.build_request("GET", "/detections"), deadline,
                               read_timeout=60.0)
        answer.raise_for_status()
        rows = answer.json()["detections"]
        by: dict[str, list[dict]] = {}
        for r in rows:
            by.setdefault(r["object_id"], []).append(r)
        cands = []
        for oid, rs in by.items():
            rs.sort(key=lambda r: r["jd"])
            last = rs[-1]
            cands.append(CandidateInfo(
                oid, last["ra"], last["dec"],
                [Photometry(r["jd"], r["filter"], r["mag"], r["magerr"], r["maglim"])
                 for r in rs], last["jdstarthist"],
                {k: last[k] for k in ("rb", "drb", "sgscore1", "distpsnr1", "ssdistnr")}))
        keep = [a.candidate.name for a in associate(cands, event, level=level,
                                                   margin_days=margin_days) if a.associated]
        if len(keep) > max_packets:
            raise RuntimeError(f"{len(keep)} candidates pass the event's filter, more than "
                               f"the {max_packets} a drill takes")
        out = []
        for name in keep:
            candid = by[name][-1]["candid"]
            packet = read_response(client, client.build_request("GET", f"/alerts/{candid}"),
                                   deadline)
            packet.raise_for_status()
            out.append(packet.content)
    return out
