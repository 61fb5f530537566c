"""Errors of the candidate path: recorded on the stored alert, never raised to a listener."""

from __future__ import annotations

from ..errors import NoticeRejected

__all__ = ["CandidateRejected"]


class CandidateRejected(NoticeRejected):
    """An alert packet or photometry upload cannot be used.

    The message is the specific reason (corrupt or truncated Avro, unknown schema
    version, missing cutouts, a field out of range, ...) and is stored on the
    ``candidate_alert`` row.
    """
