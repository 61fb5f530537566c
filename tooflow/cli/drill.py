"""``tooflow drill [NOTICE]``: a fire drill with a counterpart to find.

The notice (an igwn.gwalert JSON or Avro notice with its sky map; default:
the packaged S230518h INITIAL) is replayed as a fresh mock event (``MS…``,
happening now, the same map), a counterpart is drawn from the map's 3D
posterior (``--model``, ``--seed``, ``--spread``) and put on the simulator's
sky, the notice goes through ``tooflow ingest`` (plan, queue, observe,
circular), the simulator's alerts for the event go through the candidate path
(store, parse, associate, rank), and the drill says where the counterpart
ranked. ``tooflow candidates MS…`` shows the ranking with its factors;
``tooflow drill --score MS…`` scores a past drill again.

The injection is recorded in $TOOFLOW_HOME/drills/ with the replayed notice.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

__all__ = ["add_parser", "run_drill_cli", "score_drill"]

_SAMPLE = "S230518h-initial.json"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("drill", help="fire drill: a replayed event with an injected counterpart",
                       description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n  tooflow drill\n"
                              "  tooflow drill --skymap tests/data/skymaps/"
                              "S190814bv_5_LALInference.v1.fits.gz\n"
                              "  tooflow drill tests/data/lvk/avro/MS181101ab-preliminary.avro "
                              "--model kilonova --seed 3\n  tooflow drill --score MS261206abc")
    p.add_argument("notice", nargs="?", type=Path, metavar="NOTICE",
                   help="igwn.gwalert notice (JSON/Avro) with a sky map "
                        f"(default: the packaged {_SAMPLE})")
    p.add_argument("--model", default="kilonova", choices=["kilonova", "afterglow"],
                   help="counterpart light curve (default: %(default)s, AT2017gfo's)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the counterpart's draw (position, distance, brightness)")
    p.add_argument("--spread", type=float, default=1.0,
                   help="population spread of the model, mag (0: the mean curve)")
    p.add_argument("--skymap", type=Path, metavar="FITS",
                   help="a sky map (flat or multi-order FITS with distances) for the mock "
                        "event instead of the notice's own")
    p.add_argument("--score", metavar="EVENT_ID",
                   help="only score a past drill of EVENT_ID against its ranked candidates")
    p.set_defaults(func=_drill)


def score_drill(event_id: str, settings) -> list[str]:
    """Lines saying where each recorded injection of ``event_id`` ranked."""
    from ..candidates.views import event_candidates
    from ..simulator.feed import load_drills

    injections = load_drills(settings.home, event_id)
    if not injections:
        return [f"{event_id}: no drill recorded in {settings.home / 'drills'}"]
    ranked = event_candidates(event_id, include_all=True)
    listed = [r for r in ranked if r.listed]
    lines = []
    for inj in injections:
        mine = next((r for r in ranked if r.name == inj.object_id), None)
        what = (f"{inj.model} {inj.object_id} at RA {inj.ra:.4f}, Dec {inj.dec:+.4f}, "
                f"{inj.distance_mpc:.0f} Mpc (credible level {inj.credible_level:.0%})")
        if mine is None:
            lines.append(f"drill {event_id}: the injected {what} is not among the "
                         f"{len(ranked)} ranked candidates (not observed, not detected, "
                         "or not associated)")
        else:
            place = (f"ranked #{mine.rank} of {len(listed)} listed" if mine.listed
                     else f"#{mine.rank}, below the listing threshold")
            lines.append(f"drill {event_id}: the injected {what} {place}, score "
                         f"{mine.score:.2f}")
    return lines


def run_drill_cli(notice: Path | None, *, model: str, seed: int, spread: float,
                  skymap: Path | None = None, echo=print) -> int:
    """Replay, inject, ingest, feed the alerts to the candidate flow, score. Exit status."""
    import datetime as dt
    from importlib import resources

    from ..candidates.association import EventLocalization
    from ..config import load_settings
    from ..db import create_schema, get_engine
    from ..simulator.feed import (
        fetch_event_packets,
        injection_for_notice,
        post_injection,
        save_drill,
    )
    from ..simulator.local import arm_on_start, ensure_local_simulator
    from ..simulator.replay import replay_notice
    from ..skymap.read import read_skymap_bytes
    from .ingest import ingest_files

    settings = load_settings()
    raw = (notice.read_bytes() if notice is not None
           else resources.files("tooflow.samples").joinpath(_SAMPLE).read_bytes())
    payload, sid = replay_notice(raw, skymap=skymap.read_bytes() if skymap else None)
    folder = settings.home / "drills"
    folder.mkdir(parents=True, exist_ok=True)
    replayed = folder / f"{sid}.json"
    replayed.write_bytes(payload)
    event_time = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=1)
    from ..parsers import parse_notice

    parsed = parse_notice(payload)
    event_time = parsed.time or event_time
    injection = injection_for_notice(payload, model=model, seed=seed, spread=spread,
                                     t0=event_time)
    echo(f"drill {sid}: {notice or _SAMPLE} replayed as a mock event"
         + (f" on the map {skymap}" if skymap else "") + " at "
         f"{event_time:%Y-%m-%d %H:%M:%S} UTC ({replayed})")
    echo(f"  injected {model} {injection.object_id} at RA {injection.ra:.4f}, "
         f"Dec {injection.dec:+.4f}, {injection.distance_mpc:.0f} Mpc, credible level "
         f"{injection.credible_level:.0%}, {injection.params.get('offset', 0):+.2f} mag "
         "from the mean curve")
    if settings.facilities.simulator.url:
        post_injection(settings.facilities.simulator.url, injection)
    else:  # the embedded simulator starts (and its clock with it) at the first submission
        arm_on_start(injection)
    echo(f"  recorded in {save_drill(settings.home, injection)}")
    results = ingest_files([replayed], echo=lambda line: echo(f"  {line}"))
    url = ensure_local_simulator(settings, echo=lambda line: echo(f"  {line}"))
    if any(getattr(r.get("summary"), "failed", False) for r in results):
        echo("  the notice's flow failed; the candidates are fed all the same")
    moc = read_skymap_bytes(parsed.localization.skymap_bytes)
    event = EventLocalization.from_moc(moc, event_time, sid)
    t0 = time.perf_counter()
    packets = fetch_event_packets(url, event)
    engine = get_engine(settings)
    create_schema(engine)
    from ..candidates.store import store_alert

    ids = [store_alert(p, f"simulator:{sid}", engine=engine).alert_id for p in packets]
    echo(f"  {len(ids)} alert packets inside the 90% region and new since the event "
         f"({time.perf_counter() - t0:.1f} s); candidate flow:")
    from ..embedded.prefect_server import use_prefect_api
    from ..flows.candidates import handle_candidates

    with use_prefect_api(settings, echo=lambda line: echo(f"  {line}")):
        state = handle_candidates(ids, event_ids=[sid], return_state=True)
    if state.is_failed():
        echo(f"  FAILED: handle-candidates: {state.message}")
        return 1
    for line in score_drill(sid, settings):
        echo(line)
    echo(f"tooflow candidates {sid}   # the ranking, with the factors of each score")
    return 0


def _drill(args: argparse.Namespace) -> int:
    from ..config import load_settings

    if args.score:
        for line in score_drill(args.score, load_settings()):
            print(line)
        return 0
    if args.notice is not None and not args.notice.is_file():
        raise FileNotFoundError(f"no such file: {args.notice}")
    if args.skymap is not None and not args.skymap.is_file():
        raise FileNotFoundError(f"no such file: {args.skymap}")
    return run_drill_cli(args.notice, model=args.model, seed=args.seed, spread=args.spread,
                         skymap=args.skymap)
