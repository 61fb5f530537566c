"""A drill: plan an event, observe it with the simulator, find the injected counterpart.

:func:`run_drill` is the whole chain in one process, without Prefect or a
database, for benchmarks/recovery.py and the tests: a plan per night
(tooflow.planning, the same call the plan stage makes), submitted to a
:class:`~tooflow.simulator.engine.Simulator` on a manual clock as the
simulator facility's payload, the executed exposures (with their limiting
magnitudes) shown to a :class:`~tooflow.simulator.transients.TransientSky`,
the detections grouped into candidates, associated and ranked
(tooflow.candidates), and the result scored against the recorded
:class:`~tooflow.simulator.injection.Injection`.

With ``through_packets=True`` every associated candidate's latest detection
goes through a ZTF Avro packet and back (slower; the same parser path as real
alerts).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tooflow.candidates.association import (
    CandidateInfo,
    EventLocalization,
    Photometry,
    associate,
)
from tooflow.candidates.ranking import Ranked, rank_candidates
from tooflow.candidates.weights import RankingWeights
from tooflow.simulator.engine import Simulator
from tooflow.simulator.injection import Injection
from tooflow.simulator.transients import BackgroundRates, Detection, TransientSky

__all__ = ["DrillResult", "run_drill", "candidates_from_detections", "observe_plan"]


@dataclass
class DrillResult:
    """What one drill found, scored against its injection."""

    event_id: str
    injection: Injection
    n_exposures: int
    n_detections: int
    n_candidates: int
    n_associated: int
    n_listed: int
    on_exposure: bool
    detected: bool
    n_counterpart_detections: int
    rank: int | None  # the counterpart's rank among associated candidates (None: not ranked)
    listed: bool
    false_positives_top5: int
    detections_by_kind: dict[str, int] = field(default_factory=dict)
    top5: list[dict[str, Any]] = field(default_factory=list)
    area_observed_deg2: float = 0.0
    mean_limiting_magnitude: float | None = None
    counterpart_mags: list[float] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)  # the truth of the first 50 ranked
    ranked: list[Ranked] = field(default_factory=list, repr=False)


def observe_plan(moc, t0: dt.datetime, *, telescope: str = "ZTF", nights: int = 2,
                 latency_hours: float = 0.5, weather_loss: float = 0.0, seed: int = 0,
                 time_limit: float = 10.0, event_id: str = "drill"
                 ) -> list[dict[str, Any]]:
    """Plan ``nights`` nights after ``t0`` and observe them with the simulator.

    Each night gets its own plan (as a marshal re-plans every night), from
    ``t0 + latency`` then from each following 24 h; the simulator runs on a
    manual clock to the end of the window. Returns the executed exposures
    (simulator rows: position, filter, time, limiting magnitude).
    """
    from tooflow.facilities import get_facility
    from tooflow.planning.planner import plan_skymap

    t0 = t0 if t0.tzinfo else t0.replace(tzinfo=dt.UTC)
    start = t0 + dt.timedelta(hours=latency_hours)
    end = t0 + dt.timedelta(days=nights)
    now = [0.0]
    sim = Simulator(speedup=1.0, weather_loss=weather_loss, seed=seed, start=start,
                    clock=lambda: now[0])
    facility = get_facility("simulator", {"url": "http://127.0.0.1:9"})
    night_start = start
    while night_start < end:
        night_end = min(night_start + dt.timedelta(days=1), end)
        plan = plan_skymap(moc, [telescope], night_start, night_end, time_limit=time_limit)
        if plan.observations:
            # each night's exposures are new requests (keys carry the night)
            night = f"{event_id}-{night_start:%Y%m%dT%H%M}"
            observations = [dataclasses.replace(o, event_id=night) for o in plan.observations]
            payload = facility.build_request(observations, event_id=event_id,
                                             window=(night_start, night_end))
            now[0] = max(now[0], (night_start - start).total_seconds())
            sim.submit(telescope, payload)
        night_start = night_end
    now[0] = (end - start).total_seconds() + 3600.0
    return sim.executed()


def candidates_from_detections(detections: list[Detection]) -> dict[str, CandidateInfo]:
    """Group detections by object into candidates (the latest detection's scores)."""
    by: dict[str, list[Detection]] = {}
    for d in detections:
        by.setdefault(d.object_id, []).append(d)
    out = {}
    for oid, dets in by.items():
        dets.sort(key=lambda d: d.jd)
        last = dets[-1]
        phot = [Photometry(d.jd, d.filter, d.mag, d.magerr, d.maglim) for d in dets]
        out[oid] = CandidateInfo(
            name=oid, ra=last.ra, dec=last.dec, photometry=phot,
            jdstarthist=last.jdstarthist,
            scores={"rb": last.rb, "drb": last.drb, "sgscore1": last.sgscore1,
                    "distpsnr1": last.distpsnr1, "ssdistnr": last.ssdistnr,
                    "ssmagnr": last.ssmagnr, "ssnamenr": last.ssnamenr})
    return out


def run_drill(moc, injection: Injection, *, nights: int = 2, seed: int = 0,
              rates: BackgroundRates | None = None, weights: RankingWeights | None = None,
              galaxies=None, level: float = 0.9, margin_days: float = 0.0,
              weather_loss: float = 0.0, time_limit: float = 10.0,
              through_packets: bool = False, exposures: list[dict] | None = None
              ) -> DrillResult:
    """Run one drill and score it against ``injection``.

    Parameters
    ----------
    moc : astropy.table.Table
        The event's multi-order sky map.
    injection : Injection
        The counterpart (drawn from ``moc``; its ``t0`` is the event time).
    nights : int
        Nights of observations after the event.
    seed : int
        Seed of the simulated sky (background, weather, detections).
    rates, weights : optional
        Background rates and ranking weights (defaults otherwise).
    galaxies : astropy.table.Table, optional
        Host catalogue for the ranking.
    level, margin_days : float
        Association: credible level and the early-detection margin.
    through_packets : bool
        Send associated candidates through ZTF Avro packets and back.
    exposures : list of dict, optional
        Executed exposures to use instead of planning and observing.
    """
    from tooflow.planning.coverage import points_in_fields
    from tooflow.telescopes import load_telescope

    t0 = injection.t0_datetime
    if exposures is None:
        exposures = observe_plan(moc, t0, nights=nights, seed=seed, time_limit=time_limit,
                                 weather_loss=weather_loss, event_id=injection.event_id)
    sky = TransientSky(seed=seed, epoch=t0, injection=injection, rates=rates)
    detections: list[Detection] = []
    on_exposure = False
    for exp in sorted(exposures, key=lambda e: e["obsjd"]):
        fp = load_telescope(str(exp.get("telescope") or "ZTF")).footprint
        _, hit = points_in_fields(fp, [exp["ra"]], [exp["dec"]], [injection.ra],
                                  [injection.dec])
        on_exposure |= bool(len(hit))
        detections.extend(sky.observe(exp))
    cands = candidates_from_detections(detections)
    names = list(cands)
    event = EventLocalization.from_moc(moc, t0, injection.event_id)
    assoc = associate([cands[n] for n in names], event, level=level, margin_days=margin_days)
    if through_packets:
        assoc = _through_packets(assoc, sky, detections, event, level, margin_days)
    ranked = rank_candidates(assoc, event, galaxies=galaxies, weights=weights)
    listed = [r for r in ranked if r.listed]
    cp = next((r for r in ranked if r.candidate.name == injection.object_id), None)
    top5 = listed[:5]
    cp_dets = [d for d in detections if d.object_id == injection.object_id]
    kind_of = {d.object_id: d.kind for d in detections}
    lims = [float(e["limiting_magnitude"]) for e in exposures]
    return DrillResult(
        event_id=injection.event_id, injection=injection, n_exposures=len(exposures),
        n_detections=len(detections), n_candidates=len(cands),
        n_associated=sum(a.associated for a in assoc), n_listed=len(listed),
        on_exposure=on_exposure, detected=bool(cp_dets),
        n_counterpart_detections=len(cp_dets), rank=None if cp is None else cp.rank,
        listed=bool(cp is not None and cp.listed),
        false_positives_top5=sum(r.candidate.name != injection.object_id for r in top5),
        detections_by_kind=dict(Counter(d.kind for d in detections)),
        top5=[{"name": r.candidate.name, "score": round(r.score, 2),
               "kind": kind_of.get(r.candidate.name, "?")} for r in top5],
        kinds={r.candidate.name: kind_of.get(r.candidate.name, "?") for r in ranked[:50]},
        area_observed_deg2=float(len({(e["ra"], e["dec"]) for e in exposures}) * _area(exposures)),
        mean_limiting_magnitude=float(np.mean(lims)) if lims else None,
        counterpart_mags=[d.mag for d in cp_dets], ranked=ranked)


def _area(exposures: list[dict]) -> float:
    from tooflow.telescopes import load_telescope

    if not exposures:
        return 0.0
    return load_telescope(str(exposures[0].get("telescope") or "ZTF")).footprint.area


def _through_packets(assoc, sky, detections, event, level, margin_days):
    """Re-read the associated candidates from their latest alert packet."""
    import io

    import fastavro

    from tooflow.simulator.packets import alert_record, packet_bytes

    latest: dict[str, Detection] = {}
    for d in detections:
        if d.object_id not in latest or d.jd > latest[d.object_id].jd:
            latest[d.object_id] = d
    keep = [a for a in assoc if a.associated]
    reread = []
    for a in keep:
        det = latest[a.candidate.name]
        raw = packet_bytes(alert_record(det, sky.previous(det), cutouts=False))
        record = next(fastavro.reader(io.BytesIO(raw)))
        reread.append(_parse_packet(record, raw))
    return associate(reread, event, level=level, margin_days=margin_days)


def _parse_packet(record: dict, raw: bytes) -> CandidateInfo:
    """The candidate of one packet, through the candidate flow's parser."""
    from tooflow.candidates.association import candidate_from_parsed
    from tooflow.candidates.ztf import parse_ztf_alert

    jd = float(record["candidate"]["jd"])
    now = dt.datetime.fromtimestamp((jd - 2440587.5) * 86400.0 + 86400.0, tz=dt.UTC)
    return candidate_from_parsed(parse_ztf_alert(raw, now=now))
