"""Errors that tooflow records rather than crashes on."""

__all__ = ["NoticeRejected", "SchemaUnknown", "SchemaViolation", "SkymapUnavailable"]


class NoticeRejected(ValueError):
    """A notice cannot be used: corrupt, truncated, malformed, unknown or oversize.

    The message is the specific reason and is stored on the notice row.
    """


class SchemaUnknown(NoticeRejected):
    """A JSON notice names (or implies) a schema tooflow has no copy or family of."""


class SchemaViolation(NoticeRejected):
    """A JSON notice fails the (known, shipped) schema it names."""


class SkymapUnavailable(RuntimeError):
    """A sky map referenced by URL could not be fetched (yet)."""
