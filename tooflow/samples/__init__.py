"""Real sample notices shipped with tooflow, for ``tooflow db create --sample``."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources

from sqlalchemy.engine import Engine

from ..config import Settings

__all__ = ["sample_files", "load_samples"]


def sample_files() -> list[resources.abc.Traversable]:
    """The sample notice files, in a stable order."""
    root = resources.files(__name__)
    return sorted((f for f in root.iterdir() if f.name.endswith((".json", ".xml", ".avro"))),
                  key=lambda f: f.name)


def load_samples(engine: Engine, settings: Settings) -> Iterator[str]:
    """Store, parse and gate every sample notice (no Prefect needed); yield a line each."""
    from ..intake.store import store_notice
    from ..stages.gate import gate_notice
    from ..stages.parse import parse_stored_notice

    for f in sample_files():
        stored = store_notice(f.read_bytes(), f"sample:{f.name}", engine=engine)
        if not stored.created:
            yield f"sample {f.name}: already stored as notice #{stored.notice_id}"
            continue
        outcome = parse_stored_notice(stored.notice_id, engine=engine, settings=settings)
        if outcome.rejected:
            yield f"sample {f.name}: rejected: {outcome.reason}"
            continue
        decisions = gate_notice(stored.notice_id, engine=engine, settings=settings)
        hits = [d.program for d in decisions if d.triggered]
        yield (f"sample {f.name}: {outcome.event_id} {outcome.notice_type} → "
               f"{', '.join(hits) or 'no program triggered'}")
