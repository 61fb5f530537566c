"""What the candidate benchmarks share: a temporary home, a timer, N candidate rows.

Imported by ``benchmarks/show_candidates.py`` and ``benchmarks/web_candidates.py``
(run as scripts: their folder is on ``sys.path``).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: MS181101ab's real preliminary notice (Avro, its sky map embedded)
NOTICE = REPO / "tests" / "data" / "lvk" / "avro" / "MS181101ab-preliminary.avro"


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` calls of ``fn``, in milliseconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - t0))
    return statistics.median(times)


def temporary_home(prefix: str) -> Path:
    """Point tooflow at a new empty home (SQLite there, no configuration file).

    The repository goes on ``sys.path`` too, for ``tests.web_helpers``.
    """
    home = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["TOOFLOW_HOME"] = str(home)
    os.environ.pop("TOOFLOW_DATABASE_URL", None)
    os.environ.pop("TOOFLOW_CONFIG", None)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    return home


def link_candidates(engine, event_pk: int, n: int, rng,
                    scored: Callable[[], tuple[float, dict]]) -> None:
    """Replace every candidate with ``n`` ZTF rows around MS181101ab linked to the event.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The temporary home's database.
    event_pk : int
        The event the rows are linked to.
    n : int
        Number of candidates.
    rng : numpy.random.Generator
        Positions (about 2° around the map's peak) and magnitudes.
    scored : callable
        Called once per row: its score and its ranking factors.
    """
    from sqlalchemy import delete
    from sqlmodel import Session

    from tooflow.models import Candidate, CandidateEvent

    with Session(engine) as s:
        s.exec(delete(CandidateEvent))
        s.exec(delete(Candidate))
        s.commit()
        cands = [Candidate(facility="ZTF", name=f"ZTF18b{i:07d}",
                           ra=194.3 + rng.normal(0, 2), dec=-17.9 + rng.normal(0, 2),
                           last_mag=float(rng.uniform(17, 21)), last_filter="ztfr")
                 for i in range(n)]
        s.add_all(cands)
        s.flush()
        links = []
        for c in cands:
            score, factors = scored()
            links.append(CandidateEvent(candidate_pk=c.id, event_pk=event_pk, score=score,
                                        factors=factors))
        s.add_all(links)
        s.commit()
