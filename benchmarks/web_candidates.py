"""Server time of an event's web page with 10 … 10,000 candidates.

Run: ``python benchmarks/web_candidates.py [--sizes 10,1000,10000] [--repeat 5]``.

MS181101ab's real preliminary notice is stored, parsed and gated (SQLite in a
temporary home); N candidate rows are linked to it with scores (synthetic
rows: positions around the event, a score each — what the page reads, not
packets). The web app runs under uvicorn on loopback; each request's server
time is its ``Server-Timing`` header (the app's own measure, without the
network and the client). The baseline, measured in the same run, is reading
every candidate of the event and ranking it in Python
(:func:`tooflow.candidates.views.event_candidates`, what ``tooflow candidates
EVENT_ID`` prints), against the page's SQL-paged read
(:func:`tooflow.web.candidates.candidate_page`). Target: the event page
≤ 300 ms server time at 10,000 candidates.
"""

from __future__ import annotations

import argparse
import statistics
import sys

from candidate_rows import NOTICE, link_candidates, median_ms, temporary_home


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="10,1000,10000")
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args(argv)
    temporary_home("tooflow-bench-web-")

    import httpx
    import numpy as np
    from sqlmodel import Session

    from tests.web_helpers import add_users, login, serve
    from tooflow.candidates.views import event_candidates
    from tooflow.config import load_settings
    from tooflow.db import create_schema, get_engine
    from tooflow.intake.store import store_notice
    from tooflow.stages.gate import gate_notice
    from tooflow.stages.parse import parse_stored_notice
    from tooflow.web.app import create_app
    from tooflow.web.candidates import candidate_page

    settings = load_settings()
    engine = get_engine(settings)
    create_schema(engine)
    stored = store_notice(NOTICE.read_bytes(), str(NOTICE), engine=engine)
    event_pk = parse_stored_notice(stored.notice_id, engine=engine, settings=settings).event_pk
    gate_notice(stored.notice_id, engine=engine, settings=settings)
    add_users(engine)
    rng = np.random.default_rng(1)
    rows = []
    with serve(create_app(settings, engine)) as url:
        client: httpx.Client = login(url, "vera")
        for n in [int(x) for x in args.sizes.split(",")]:
            link_candidates(engine, event_pk, n, rng, lambda: (
                float(rng.random()),
                {"localization": float(rng.random()), "rb": float(rng.random())}))

            def server_ms(path: str) -> float:
                values = []
                for _ in range(args.repeat):
                    r = client.get(path)
                    assert r.status_code == 200, (path, r.status_code)
                    values.append(float(r.headers["server-timing"].split("dur=")[1]))
                return statistics.median(values)

            page_ms = server_ms("/events/MS181101ab")
            last = -(-n // 25)
            deep_ms = server_ms(f"/events/MS181101ab/candidates?cpage={last}")
            with Session(engine) as s:
                paged = median_ms(lambda s=s: candidate_page(s, event_pk, page=1), args.repeat)
            full = median_ms(lambda: event_candidates("MS181101ab", engine=engine), args.repeat)
            rows.append((n, page_ms, deep_ms, paged, full))
    print("| candidates | event page (server ms) | last page of the list (server ms) "
          "| paged read, page 1 (ms) | baseline: read and rank all (ms) | baseline / paged |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for n, page_ms, deep_ms, paged, full in rows:
        print(f"| {n:,} | {page_ms:.0f} | {deep_ms:.0f} | {paged:.1f} | {full:.0f} | "
              f"{full / paged:.0f}× |")
    worst = max(r[1] for r in rows)
    print(f"\ntarget: event page ≤ 300 ms server time; worst here {worst:.0f} ms "
          f"({'met' if worst <= 300 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
