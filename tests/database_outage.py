"""A database that goes away for a while: for the outage tests of the listeners."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class DownFor:
    """``real`` behind a database that refuses the first ``times`` calls.

    Each refused call raises what SQLAlchemy raises when psycopg2 finds the
    server gone (``server closed the connection unexpectedly``); ``left`` counts
    the refusals still to come.
    """

    def __init__(self, real: Callable[..., Any], times: int) -> None:
        self.real, self.left = real, times

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.left:
            import psycopg2
            from sqlalchemy.exc import OperationalError

            self.left -= 1
            raise OperationalError("INSERT", {}, psycopg2.OperationalError(
                "server closed the connection unexpectedly"))
        return self.real(*args, **kwargs)
