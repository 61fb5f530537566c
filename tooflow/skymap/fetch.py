"""Fetch a sky map referenced by URL (legacy VOEvents), with a total deadline and retries.

Retry policy, next to the external system as STYLE.md asks, and the only one
of this boundary (:mod:`tooflow.guards.retry`, tenacity; the parse task does
not retry again): connection failures, timeouts and HTTP
408/429/500/502/503/504 are retried with exponential backoff; other HTTP
errors (404, 403, ...) fail at once. The whole
fetch, every attempt and back-off included, ends within ``deadline`` seconds
(a server trickling one byte at a time cannot hold it longer).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from ..errors import SkymapUnavailable
from ..guards.deadline import Deadline, DeadlineExceeded, ResponseTooLarge, read_response
from ..guards.retry import GaveUp, Policy, call_with_retries
from .read import MAX_SKYMAP_BYTES

__all__ = ["RETRYABLE_STATUS", "fetch_skymap", "is_retryable"]

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def _get(client: httpx.Client, url: str, max_bytes: int, deadline: Deadline,
         timeout: float) -> bytes:
    response = read_response(client, client.build_request("GET", url), deadline,
                             read_timeout=timeout, max_bytes=max_bytes)
    response.raise_for_status()
    return response.content


def fetch_skymap(url: str, *, timeout: float = 10, retries: int = 3, backoff: float = 0.5,
                 max_bytes: int = MAX_SKYMAP_BYTES, deadline: float = 120.0,
                 sleep: Callable[[float], None] = time.sleep) -> bytes:
    """Download a sky map.

    Parameters
    ----------
    url : str
        ``http`` or ``https`` URL (GraceDB's ``...,N`` version suffix is part of it).
    timeout : float
        Connect/read timeout per attempt (seconds).
    retries : int
        Number of attempts in all (at least 1).
    backoff : float
        Wait before the second attempt (seconds); doubled after each failure.
    max_bytes : int
        Refuse larger downloads (bytes).
    deadline : float
        Total seconds for the whole fetch (all attempts and waits).
    sleep : callable
        Waits between attempts (tests pass a recorder).

    Returns
    -------
    bytes
        The file as served (often gzip-compressed FITS).

    Raises
    ------
    SkymapUnavailable
        If the URL is not http(s), the server answers with a non-retryable
        error, the file is too large, the deadline passed, or every attempt
        failed; the message names the URL, the attempts and the last error.
    """
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SkymapUnavailable(f"cannot fetch sky map: {url!r} is not an http(s) URL")
    budget = Deadline(deadline, f"fetching the sky map at {url}")
    policy = Policy(f"sky map at {url}", attempts=max(1, int(retries)), backoff=backoff,
                    retry_if=is_retryable)
    with httpx.Client(follow_redirects=True) as client:
        try:
            return call_with_retries(
                policy, lambda attempt: _get(client, url, max_bytes, budget, timeout),
                deadline=budget, sleep=sleep)
        except GaveUp as gave_up:
            last = _describe(gave_up.last)
            if gave_up.out_of_time:
                last += f"; no time left in the {deadline:g} s deadline for another"
            raise SkymapUnavailable(f"sky map at {url} unavailable after {gave_up.attempts} "
                                    f"attempt(s): {last}") from gave_up.last
        except DeadlineExceeded as exc:
            raise SkymapUnavailable(f"sky map at {url} unavailable: {exc}") from exc
        except ResponseTooLarge as exc:
            raise SkymapUnavailable(
                f"sky map at {url} is larger than {max_bytes} bytes") from exc
        except httpx.HTTPStatusError as exc:
            raise SkymapUnavailable(f"sky map at {url} unavailable: HTTP "
                                    f"{exc.response.status_code} (not retried)") from exc


def is_retryable(exc: BaseException) -> bool:
    """Connection failures, timeouts and HTTP 408/429/500/502/503/504: worth another attempt."""
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in RETRYABLE_STATUS
    return isinstance(exc, httpx.TransportError)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    return f"{type(exc).__name__}: {exc}"
