"""Server time of an event's web page, and its coverage fragment, with observations.

Run: ``python benchmarks/web_event_coverage.py [--repeat 5]``.

MS181101ab's real preliminary notice is stored, parsed, gated and planned by
the web tests' program (ZTF, g and r; ``tests/web_helpers.build``); every
planned exposure but those of one field is then recorded as executed
(telescope, position, time as planned). The app runs under uvicorn on
loopback; each figure is the app's own ``Server-Timing`` (server time without
network and client): the first request, the median of ``--repeat`` more,
then the first request after one more exposure, of the field left out,
arrives (the achieved coverage must grow with it), and the median after that.
The event page computes the achieved coverage (probability and area) of the
exposures; the fragment ``/events/{id}/coverage`` the coverage over time (up
to 12 points).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="tooflow-bench-coverage-"))
    os.environ["TOOFLOW_HOME"] = str(home)
    os.environ.pop("TOOFLOW_DATABASE_URL", None)
    sys.path.insert(0, str(REPO))

    import pytest
    from sqlmodel import Session, select

    from tests.web_helpers import build, login, serve, write_config
    from tooflow.config import load_settings
    from tooflow.db import create_schema, get_engine
    from tooflow.models import ExecutedObservationRow, PlannedObservationRow
    from tooflow.web.app import create_app

    write_config(home, pytest.MonkeyPatch())  # the web tests' programme; TOOFLOW_CONFIG set
    settings = load_settings()
    engine = get_engine(settings)
    create_schema(engine)
    ids = build(engine, settings)
    with Session(engine, expire_on_commit=False) as s:
        planned = s.exec(select(PlannedObservationRow)
                         .where(PlannedObservationRow.plan_id == ids["plan_id"])
                         .order_by(PlannedObservationRow.start_time)).all()
        held = planned[-1].field_id  # its field is observed only later: new sky
        s.add_all([ExecutedObservationRow(
            event_pk=ids["event_pk"], telescope=o.telescope, field_id=o.field_id, ra=o.ra,
            dec=o.dec, filter=o.filter, exposure_time=o.exposure_time, obs_time=o.start_time,
            request_key=o.request_key) for o in planned if o.field_id != held])
        s.commit()
        last = planned[-1]
    print(f"{sum(o.field_id != held for o in planned)} exposures executed, then one of "
          f"field {held}, not observed before")

    rows = []
    with serve(create_app(settings, engine)) as url:
        client = login(url, "vera")

        def server_ms(path: str) -> tuple[float, str]:
            r = client.get(path)
            assert r.status_code == 200, (path, r.status_code)
            return float(r.headers["server-timing"].split("dur=")[1]), r.text

        def covered(text: str) -> str:
            """What the response says: the page's total, or the fragment's last point."""
            total = re.search(r"([\d.]+)\s*%\s*of the probability covered", text)
            if total:
                return f"{total[1]} %"
            points = re.findall(r'<td class="num">(\d+)</td>\s*<td class="num">([\d.]+)\s*%', text)
            return f"{points[-1][1]} % after {points[-1][0]}" if points else "?"

        def measure(when: str) -> None:
            for label, path in (("event page", "/events/MS181101ab"),
                                ("coverage over time", "/events/MS181101ab/coverage")):
                first, text = server_ms(path)
                again = statistics.median(server_ms(path)[0] for _ in range(args.repeat))
                rows.append((label, when, first, covered(text)))
                rows.append((label, f"median of {args.repeat} more", again, covered(text)))

        measure("first")
        with Session(engine) as s:
            s.add(ExecutedObservationRow(
                event_pk=ids["event_pk"], telescope=last.telescope, field_id=last.field_id,
                ra=last.ra, dec=last.dec, filter=last.filter, exposure_time=last.exposure_time,
                obs_time=last.start_time + dt.timedelta(seconds=1),
                request_key=last.request_key))
            s.commit()
        measure("first after one more exposure")
    print("| request | when | server ms | coverage shown |")
    print("| --- | --- | ---: | ---: |")
    for label, when, ms, pct in rows:
        print(f"| {label} | {when} | {ms:.0f} | {pct} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
