"""The retry policy of the database boundary: what a retry can fix, and nothing else.

The follow-up tasks run their stage under :func:`with_database_retries` (or the
:func:`database_retries` decorator); it is the only retry of this boundary
(:mod:`tooflow.guards.retry`, tenacity) — the Prefect tasks have no retries of
their own. A failure is transient when the database, not the statement, is
the problem, decided on the exception's class and the driver's own error,
never on a class *name*:

* SQLite: ``database is locked`` / ``busy`` (another writer holds the lock
  past the connection's 30 s busy timeout);
* PostgreSQL: a connection lost or refused (SQLAlchemy marks it invalidated,
  or psycopg2 raises an ``OperationalError`` with no SQLSTATE), SQLSTATE class
  08 (connection exception), 57P (operator intervention: the server is
  shutting down or restarting), 53 (insufficient resources), 40001 and 40P01
  (serialization failure, deadlock: run the transaction again);
* SQLAlchemy's own pool timeout and disconnection.

Anything else — a missing table, a constraint violated, a bug — fails at once.
Re-running a stage is safe: every stage is idempotent (a notice is stored once
by sha256, a queue request once by its key).

The policy: :data:`ATTEMPTS` attempts, waits of 2, 4, 8 s, no wait started
past :data:`DEADLINE` seconds; past them the task fails with
:class:`DatabaseUnavailable` naming the attempts and the last error.

The long-running consumers — the notice and candidate listeners
(:mod:`tooflow.intake.listeners.loop`) and the SNEWS coincidence service
(:mod:`tooflow.snews.service`) — must not acknowledge a message before it is
stored, nor drop it, nor stop: they store under :func:`until_stored`, rounds
of the same policy, each within its deadline; a round that gives up is
reported (the listener's status row, an ERROR line) and the next one starts
after the policy's longest wait, until the database is back or the service
is stopped.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ..guards.deadline import Deadline
from ..guards.retry import GaveUp, Policy, call_with_retries

__all__ = ["ATTEMPTS", "BACKOFF", "DEADLINE", "DatabaseUnavailable", "database_retries",
           "is_transient_database_error", "until_stored", "with_database_retries"]

#: Attempts in all.
ATTEMPTS = 4
#: Seconds before the second attempt, doubled after each failure.
BACKOFF = 2.0
#: No wait is started that would end more than this many seconds after the first attempt.
DEADLINE = 120.0

#: PostgreSQL SQLSTATE prefixes worth another attempt (see the module docstring).
_PG_TRANSIENT = ("08", "57P", "53", "40001", "40P01")

P = ParamSpec("P")
T = TypeVar("T")


class DatabaseUnavailable(RuntimeError):
    """The database stayed unavailable through every attempt of the policy."""


def is_transient_database_error(exc: BaseException) -> bool:
    """Whether ``exc`` is the database being unavailable (worth another attempt).

    Examples
    --------
    >>> import sqlite3
    >>> from sqlalchemy.exc import OperationalError
    >>> is_transient_database_error(OperationalError(
    ...     "INSERT ...", {}, sqlite3.OperationalError("database is locked")))
    True
    >>> is_transient_database_error(OperationalError(
    ...     "SELECT ...", {}, sqlite3.OperationalError("no such table: notice")))
    False
    """
    if isinstance(exc, DisconnectionError | PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if isinstance(orig, sqlite3.OperationalError):
        text = str(orig).lower()
        return "locked" in text or "busy" in text
    import psycopg2

    if isinstance(orig, psycopg2.Error):
        code = getattr(orig, "pgcode", None)
        if code:
            return code.startswith(_PG_TRANSIENT)
        text = str(orig).lower()
        if "authentication failed" in text or "does not exist" in text:
            return False  # a wrong URL is not fixed by waiting
        return isinstance(orig, psycopg2.OperationalError | psycopg2.InterfaceError)
    return False


def with_database_retries(func: Callable[[], T], *, what: str = "database",
                          attempts: int = ATTEMPTS, backoff: float = BACKOFF,
                          deadline: float = DEADLINE,
                          sleep: Callable[[float], None] = time.sleep) -> T:
    """Call ``func()``; call it again while the database is unavailable, within the policy.

    Parameters
    ----------
    func : callable
        The unit of work (a stage): it opens its own sessions, so each attempt
        starts afresh.
    what : str
        What is being done, for log lines and the error.
    attempts, backoff, deadline : int, float, float
        The policy (module constants by default).
    sleep : callable
        Waits between attempts (tests pass a recorder).

    Raises
    ------
    DatabaseUnavailable
        After the attempts or the deadline, naming them and the last error.
    Exception
        Anything not transient, at once.
    """
    policy = Policy(what, attempts=attempts, backoff=backoff,
                    retry_if=is_transient_database_error)
    try:
        return call_with_retries(policy, lambda _attempt: func(),
                                 deadline=Deadline(deadline, what), sleep=sleep)
    except GaveUp as gave_up:
        why = (f"no time left within the {deadline:g} s deadline after {gave_up.attempts} "
               f"attempt(s)" if gave_up.out_of_time else f"{gave_up.attempts} attempt(s)")
        last = gave_up.last
        raise DatabaseUnavailable(f"{what}: database unavailable after {why}: "
                                  f"{type(last).__name__}: {_first_line(last)}") from last


class _Stopped(Exception):
    """The service was stopped while waiting for the database."""


def until_stored(func: Callable[[], T], *, what: str, stop: threading.Event,
                 on_round_failed: Callable[[DatabaseUnavailable], None] | None = None,
                 attempts: int = ATTEMPTS, backoff: float = BACKOFF,
                 deadline: float = DEADLINE) -> T | None:
    """Call ``func()`` under :func:`with_database_retries`, round after round, until it
    succeeds or ``stop`` is set: for a consumer that must neither drop its message nor stop.

    Each round is the policy with its total deadline; a round that gives up
    (:class:`DatabaseUnavailable`, also when ``func`` raises it itself for a failure
    that waiting within the round cannot fix) is handed to ``on_round_failed``, and
    the next round starts after the round's longest wait (8 s by default). Waits end
    as soon as ``stop`` is set.

    Parameters
    ----------
    func : callable
        The unit of work (storing one message); each attempt starts afresh.
    what : str
        What is being done, for log lines and errors.
    stop : threading.Event
        Set it to give up waiting (the message is then not stored; its sender
        delivers it again).
    on_round_failed : callable, optional
        Told of each round that gave up (record it where operators look).
    attempts, backoff, deadline : int, float, float
        The policy of each round (module constants by default).

    Returns
    -------
    The result of ``func``, or None when ``stop`` was set first.

    Raises
    ------
    Exception
        Anything ``func`` raises that is not the database being unavailable, at once.
    """

    def wait(seconds: float) -> None:
        if stop.wait(seconds):
            raise _Stopped

    pause = backoff * 2 ** max(attempts - 2, 0)
    while not stop.is_set():
        try:
            return with_database_retries(func, what=what, attempts=attempts, backoff=backoff,
                                         deadline=deadline, sleep=wait)
        except _Stopped:
            return None
        except DatabaseUnavailable as exc:
            if on_round_failed is not None:
                on_round_failed(exc)
            if stop.wait(pause):
                return None
    return None


def database_retries(what: str) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Decorator: run the function under :func:`with_database_retries`.

    Parameters
    ----------
    what : str
        Name of the unit of work (``"parse"``, ``"submit"``...).
    """

    def decorate(func: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            return with_database_retries(lambda: func(*args, **kwargs), what=what)

        return wrapper

    return decorate


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0][:300] if text else ""
