"""Retry policies: one per external boundary, all on tenacity, all inside a deadline.

Each external boundary retries in exactly one place, with its own policy built
here — :mod:`tooflow.facilities.http` (a queue's HTTP API),
:mod:`tooflow.skymap.fetch` (a sky map given by URL) and :mod:`tooflow.db.retry`
(the database) — and nothing above them retries the same failure again: the
Prefect tasks have no retries of their own.

A :class:`Policy` says how many attempts, the exponential back-off between them
and which failures are worth another attempt; every other exception passes
through at once. With a :class:`~tooflow.guards.deadline.Deadline`, no wait is
started that would end past it: the policy gives up instead. When it gives up
it raises :class:`GaveUp`, carrying the last failure, the number of attempts
and whether the deadline (rather than the count) stopped it, for the boundary
to turn into its own error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

from .deadline import Deadline

__all__ = ["GaveUp", "Policy", "call_with_retries"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class GaveUp(Exception):
    """A retry policy stopped before an attempt succeeded.

    Attributes
    ----------
    last : BaseException
        The last attempt's failure (also the ``__cause__``).
    attempts : int
        Attempts made.
    out_of_time : bool
        True when the deadline, not the number of attempts, stopped the policy.
    """

    def __init__(self, what: str, last: BaseException, attempts: int, out_of_time: bool):
        self.last, self.attempts, self.out_of_time = last, attempts, out_of_time
        why = "no time left within the deadline for another attempt" if out_of_time else \
            f"{attempts} attempt(s)"
        super().__init__(f"{what}: gave up after {why}: {type(last).__name__}: {last}")


@dataclass(frozen=True)
class Policy:
    """How one boundary retries.

    Attributes
    ----------
    what : str
        The boundary, for log lines and errors (``"ZTF: POST /queues/..."``).
    attempts : int
        Attempts in all (1: no retry).
    backoff : float
        Seconds before the second attempt; doubled after each failure.
    max_delay : float
        Longest single wait, seconds.
    retry_if : callable
        ``retry_if(exc)``: whether this failure is worth another attempt.
    """

    what: str
    attempts: int
    backoff: float
    retry_if: Callable[[BaseException], bool]
    max_delay: float = 30.0


def call_with_retries(policy: Policy, func: Callable[[int], T], *,
                      deadline: Deadline | None = None,
                      sleep: Callable[[float], None] = time.sleep) -> T:
    """Call ``func(attempt)`` (attempt 1, 2, ...) under ``policy``.

    Parameters
    ----------
    policy : Policy
        Attempts, back-off and which failures are retried.
    func : callable
        One attempt; gets the attempt number.
    deadline : Deadline, optional
        No back-off wait is started that would end past it.
    sleep : callable
        Waits between attempts (seconds); e.g. ``stop_event.wait`` or a recorder in tests.

    Returns
    -------
    The first successful attempt's result.

    Raises
    ------
    GaveUp
        When retryable failures used up the attempts or the deadline.
    Exception
        Any failure ``policy.retry_if`` does not retry, at once, unchanged.
    """
    stopped_by_deadline = False

    def stop(state: tenacity.RetryCallState) -> bool:
        nonlocal stopped_by_deadline
        if state.attempt_number >= policy.attempts:
            return True
        if deadline is not None and state.upcoming_sleep >= deadline.remaining():
            stopped_by_deadline = True
            return True
        return False

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning("%s: attempt %d of %d failed (%s: %s); retrying in %.2f s", policy.what,
                    state.attempt_number, policy.attempts, type(exc).__name__, exc,
                    state.upcoming_sleep)

    retrying = tenacity.Retrying(
        stop=stop,
        wait=tenacity.wait_exponential(multiplier=policy.backoff, exp_base=2,
                                       max=policy.max_delay),
        retry=tenacity.retry_if_exception(policy.retry_if),
        before_sleep=before_sleep,
        sleep=sleep,
    )
    try:
        for attempt in retrying:
            with attempt:
                return func(attempt.retry_state.attempt_number)
    except tenacity.RetryError as exc:
        last = exc.last_attempt.exception()
        raise GaveUp(policy.what, last, exc.last_attempt.attempt_number,
                     stopped_by_deadline) from last
    raise AssertionError("unreachable")  # pragma: no cover
