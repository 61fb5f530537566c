"""What every task needs: settings and the engine, loaded when the task runs."""

from __future__ import annotations

from ..config import Settings, load_settings
from ..db import get_engine

__all__ = ["context", "artifact_key"]


def context() -> tuple[Settings, object]:
    """The settings and database engine of this process."""
    settings = load_settings()
    return settings, get_engine(settings)


def artifact_key(*parts: object) -> str:
    """A Prefect artifact key (lower-case letters, digits, dashes) from parts."""
    text = "-".join(str(p) for p in parts).lower()
    return "".join(c if c.isalnum() else "-" for c in text).strip("-")
