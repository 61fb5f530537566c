"""``tooflow show EVENT`` with 10 … 10,000 candidates.

Run: ``python benchmarks/show_candidates.py [--sizes 10,1000,10000] [--repeat 3]``.

MS181101ab's real preliminary notice is stored and parsed (SQLite in a
temporary home); N candidate rows are linked to it, each with a score and the
factors a real ranking stores (one candidate placed inside the map, ranked by
:func:`tooflow.candidates.ranking.rank_candidates`; its factors dictionary,
about 2 kB of JSON, copied to every row with its own score). Timed, median of
``--repeat``:

* ``load_event_view`` + ``render_text`` in-process: what ``tooflow show`` does
  after its imports;
* ``tooflow show MS181101ab`` as a subprocess (wall time, Python's start and
  imports included);
* the baseline in the same run: reading and ranking every candidate of the
  event (:func:`tooflow.candidates.views.event_candidates`, what ``tooflow
  candidates EVENT_ID`` prints, and what ``tooflow show`` did before it read
  only the candidates it shows).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys

from candidate_rows import NOTICE, link_candidates, median_ms, temporary_home

CLI = "import sys; from tooflow.cli import main; sys.exit(main(sys.argv[1:]))"


def _real_factors(event_time: dt.datetime) -> dict:
    """The factors dictionary a real ranking stores for one candidate inside the map."""
    from tooflow.candidates.association import (
        CandidateInfo,
        EventLocalization,
        Photometry,
        associate,
        jd_of,
    )
    from tooflow.candidates.ranking import rank_candidates
    from tooflow.parsers import parse_notice
    from tooflow.simulator.injection import draw_injection
    from tooflow.skymap.read import read_skymap_bytes

    moc = read_skymap_bytes(parse_notice(NOTICE.read_bytes()).localization.skymap_bytes)
    where = EventLocalization.from_moc(moc, event_time, "MS181101ab")
    inj = draw_injection(moc, event_time, event_id="MS181101ab", seed=11)
    t0 = jd_of(event_time)
    cand = CandidateInfo("ZTF18bench", inj.ra, inj.dec, photometry=[
        Photometry(t0 + d, f, m, 0.05, 21.0)
        for d, f, m in ((0.5, "ztfg", 19.0), (0.52, "ztfr", 18.8), (1.5, "ztfr", 19.6))],
        scores={"drb": 0.98, "sgscore1": 0.1, "distpsnr1": 3.0, "ssdistnr": -999.0})
    (ranked,) = rank_candidates(associate([cand], where), where)
    return ranked.as_dict()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="10,1000,10000")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    temporary_home("tooflow-bench-show-")

    import json

    import numpy as np
    from sqlmodel import Session

    from tooflow.candidates.views import event_candidates
    from tooflow.config import load_settings
    from tooflow.db import create_schema, get_engine
    from tooflow.intake.store import store_notice
    from tooflow.models import Event
    from tooflow.stages.parse import parse_stored_notice
    from tooflow.views.event import load_event_view, render_text

    settings = load_settings()
    engine = get_engine(settings)
    create_schema(engine)
    stored = store_notice(NOTICE.read_bytes(), str(NOTICE), engine=engine)
    event_pk = parse_stored_notice(stored.notice_id, engine=engine, settings=settings).event_pk
    with Session(engine) as s:
        event_time = s.get(Event, event_pk).time
    factors = _real_factors(event_time)
    print(f"factors of one row: {len(json.dumps(factors))} bytes of JSON")
    rng = np.random.default_rng(1)
    rows = []
    for n in [int(x) for x in args.sizes.split(",")]:
        def scored() -> tuple[float, dict]:
            score = round(float(rng.normal(1, 2)), 4)
            return score, {**factors, "score": score}

        link_candidates(engine, event_pk, n, rng, scored)

        def show() -> str:
            with Session(engine) as session:
                return render_text(load_event_view(session, "MS181101ab", settings=settings))

        text = show()
        assert "candidates:" in text
        view_ms = median_ms(show, args.repeat)
        def cli() -> None:
            out = subprocess.run([sys.executable, "-c", CLI, "show", "MS181101ab"],
                                 capture_output=True, text=True, env=os.environ.copy(),
                                 check=True)
            assert "candidates:" in out.stdout

        cli_s = median_ms(cli, args.repeat) / 1000
        full = median_ms(lambda: event_candidates("MS181101ab", engine=engine), args.repeat)
        rows.append((n, view_ms, cli_s, full))
    print("| candidates | load_event_view + render_text (ms) | `tooflow show` (s, wall) "
          "| baseline: read and rank all (ms) | baseline / view |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for n, view_ms, cli_s, full in rows:
        print(f"| {n:,} | {view_ms:.0f} | {cli_s:.1f} | {full:.0f} | {full / view_ms:.1f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
