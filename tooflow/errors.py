"""Errors that tooflow records rather than crashes on."""

__all__ = ["NoticeRejected", "SkymapUnavailable"]


class NoticeRejected(ValueError):
    """A notice cannot be used: corrupt, truncated, malformed, unknown or oversize.

    The message is the specific reason and is stored on the notice row.
    """


class SkymapUnavailable(RuntimeError):
    """A sky map referenced by URL could not be fetched (yet)."""
