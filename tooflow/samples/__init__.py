"""Real sample notices shipped with tooflow, for ``tooflow db create --sample``.

``tooflow db create --sample`` stores, parses and gates them
(:func:`tooflow.cli.db.load_samples`).
"""

from __future__ import annotations

from importlib import resources

__all__ = ["sample_files"]


def sample_files() -> list[resources.abc.Traversable]:
    """The sample notice files, in a stable order."""
    root = resources.files(__name__)
    return sorted((f for f in root.iterdir() if f.name.endswith((".json", ".xml", ".avro"))),
                  key=lambda f: f.name)

