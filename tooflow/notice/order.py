"""Which of two notices about one event is the later: by their own content, not arrival.

Kafka re-deliveries and GCN relays deliver out of order; a stale PRELIMINARY
arriving after an UPDATE must not replace it. A notice's place is
``(rank of its alert type, time it was issued)``: LVK's EARLYWARNING <
PRELIMINARY < INITIAL < UPDATE, every other type rank 0 (missions' notice
sequences are ordered by their issue time). A retraction is never stale: it
applies whenever it comes.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["ALERT_RANK", "is_older"]

#: LVK alert types in the order LVK sends them.
ALERT_RANK = {"EARLYWARNING": 0, "PRELIMINARY": 1, "INITIAL": 2, "UPDATE": 3}


def _rank(notice_type: str | None) -> int:
    return ALERT_RANK.get((notice_type or "").upper(), 0)


def is_older(notice_type: str | None, issued: dt.datetime | None,
             latest_type: str | None, latest_issued: dt.datetime | None) -> bool:
    """Whether a notice comes before the latest one already applied to its event.

    Parameters
    ----------
    notice_type, issued : str, datetime or None
        The arriving notice's type and issue time.
    latest_type, latest_issued : str, datetime or None
        Those of the notice the event reads now.

    Returns
    -------
    bool
        True when the arriving notice is strictly earlier: a lower alert-type
        rank, or the same rank and an earlier issue time. Unknown issue times
        compare by rank only; a retraction is never older, and every other
        notice is older than a retraction.

    Examples
    --------
    >>> t = dt.datetime(2018, 11, 1, 22, 34, tzinfo=dt.UTC)
    >>> is_older("PRELIMINARY", t, "UPDATE", t + dt.timedelta(hours=1))
    True
    >>> is_older("UPDATE", t + dt.timedelta(hours=2), "UPDATE", t + dt.timedelta(hours=1))
    False
    """
    if (notice_type or "").upper() == "RETRACTION":
        return False
    if (latest_type or "").upper() == "RETRACTION":
        return True  # nothing un-retracts an event
    rank, latest_rank = _rank(notice_type), _rank(latest_type)
    if rank != latest_rank:
        return rank < latest_rank
    if issued is None or latest_issued is None:
        return False
    return issued < latest_issued
