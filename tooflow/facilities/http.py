"""HTTP transport shared by the facility adapters: timeouts, retries, records.

Retry policy (like gwcelery's ``catch_retryable_http_errors``), the only one
of this boundary (:mod:`tooflow.guards.retry`, tenacity; the Prefect tasks above
do not retry again): retry only on connection-level failures (refused, reset,
timed out) and on HTTP 408, 429, 502, 503 and 504, with exponential back-off;
every other answer is final and becomes a :class:`FacilityHTTPError` carrying
the status and the start of the body. Every attempt is recorded as a
:class:`Transaction` (method, URL, status, elapsed time, error) that the caller
can store; headers, and so tokens, are never recorded or logged, and what a
facility answers is redacted
(:mod:`tooflow.guards.text`) before it is recorded, raised or logged: an error
body that echoes the request headers does not leak the token.

Every request, its retries and back-off included, ends within a total
``deadline`` (default 60 s), however slowly the server answers; its answer may
not exceed ``max_response_bytes``. Past either it is a
:class:`FacilityUnavailable` naming the limit.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import httpx

from ..guards.deadline import Deadline, DeadlineExceeded, ResponseTooLarge, read_response
from ..guards.retry import GaveUp, Policy, call_with_retries
from ..guards.text import REDACTED, redact

__all__ = [
    "RETRYABLE_STATUS",
    "FacilityError",
    "FacilityHTTPError",
    "FacilityUnavailable",
    "Transaction",
    "HttpClient",
    "is_retryable",
]

log = logging.getLogger(__name__)

#: HTTP statuses worth retrying: the server or a proxy says "try again later".
RETRYABLE_STATUS = frozenset({408, 429, 502, 503, 504})


class FacilityError(RuntimeError):
    """A facility refused a request or answered something the adapter cannot use.

    The message is redacted (:func:`tooflow.guards.text.redact`): a facility that
    echoes the request headers in its error body cannot leak a token through it.
    """

    def __init__(self, message: object = "", *args: object):
        super().__init__(redact(str(message)), *args)


class FacilityHTTPError(FacilityError):
    """A final (non-retryable, or retries exhausted) HTTP error answer.

    Attributes
    ----------
    status : int
        HTTP status code.
    """

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class FacilityUnavailable(FacilityError):
    """The facility could not be reached, even after the allowed retries."""


@dataclass
class Transaction:
    """One HTTP exchange with a facility, safe to store and log.

    Attributes
    ----------
    facility : str
        Adapter name.
    method, url : str
        Request line (query string included; never headers).
    status : int or None
        HTTP status, None when no answer came back.
    elapsed : float
        Seconds from sending to the end of the answer (or the failure).
    started : datetime
        UTC time the attempt started.
    attempt : int
        1 for the first try, 2 for the first retry...
    error : str
        Why the attempt failed, empty on success.
    """

    facility: str
    method: str
    url: str
    status: int | None
    elapsed: float
    started: datetime
    attempt: int = 1
    error: str = ""
    request_bytes: int = 0
    response_bytes: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (``started`` as ISO text)."""
        d = asdict(self)
        d["started"] = self.started.isoformat()
        return d

    def row(self) -> dict[str, Any]:
        """The fields of a ``tooflow.models.FacilityTransaction`` row (no event key)."""
        detail = redact(f"attempt {self.attempt}" + (f": {self.error}" if self.error else ""))
        return {"telescope": self.facility, "method": self.method, "url": redact(self.url),
                "status_code": self.status, "elapsed": self.elapsed, "detail": detail[:1000],
                "created": self.started}


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """httpx's default verifying context (certifi, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``),
    made once per process: loading the CA bundle costs ~70 ms per client, and every
    submission opens a client per telescope."""
    return httpx.create_ssl_context(trust_env=True)


def is_retryable(exc: BaseException) -> bool:
    """True for transient failures: connection errors and 408/429/502/503/504."""
    if isinstance(exc, httpx.TransportError):
        return True
    if isinstance(exc, FacilityHTTPError):
        return exc.status in RETRYABLE_STATUS
    return False


class HttpClient:
    """A small httpx wrapper: base URL, bearer token, timeouts, retries, records.

    Parameters
    ----------
    base_url : str
        Prefix of every request path.
    token : str or None
        Bearer token sent as ``Authorization`` (never recorded).
    timeout : float
        Connect and read timeout, seconds.
    retries : int
        Extra attempts after the first, on transient failures only (:func:`is_retryable`).
    backoff : float
        Wait before the first retry, seconds; doubled each time (at most 30 s).
    facility : str
        Name stored in each :class:`Transaction`.
    deadline : float
        Total seconds for one :meth:`request`, every attempt and wait included.
    max_response_bytes : int
        Largest answer accepted (bytes, decoded).
    """

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 10.0,
                 retries: int = 3, backoff: float = 0.5, facility: str = "",
                 sleep: Callable[[float], None] = time.sleep, deadline: float = 60.0,
                 max_response_bytes: int = 32 << 20):
        headers = {"User-Agent": "tooflow"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._secrets = [token] if token else []
        self.base_url = base_url.rstrip("/")
        self.facility = facility
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.deadline = deadline
        self.max_response_bytes = max_response_bytes
        self.transactions: list[Transaction] = []
        self._sleep = sleep
        self._client = httpx.Client(base_url=self.base_url, headers=headers,
                                    timeout=httpx.Timeout(timeout), follow_redirects=False,
                                    verify=_ssl_context())

    def request(self, method: str, path: str, *, json: Any = None,
                params: dict[str, Any] | None = None, content: bytes | None = None,
                ok: tuple[int, ...] = (200, 201, 202, 204)) -> httpx.Response:
        """Send one request with the retry policy; return the response if its status is ``ok``.

        Raises
        ------
        FacilityHTTPError
            For a status outside ``ok`` (after retries if it was retryable).
        FacilityUnavailable
            When no answer came back after all attempts, or not within the deadline.
        """
        if not self.base_url:
            raise FacilityError(f"{self.facility or 'facility'}: no URL configured")
        what = f"{self.facility or 'facility'}: {method} {path}"
        budget = Deadline(self.deadline, what)
        policy = Policy(what, attempts=self.retries + 1, backoff=self.backoff,
                        retry_if=is_retryable)
        try:
            return call_with_retries(
                policy, lambda attempt: self._send(method, path, json=json, params=params,
                                                   content=content, ok=ok, attempt=attempt,
                                                   budget=budget),
                deadline=budget, sleep=self._sleep)
        except GaveUp as gave_up:
            last = gave_up.last
            if gave_up.out_of_time:
                raise FacilityUnavailable(f"{what}: no time left within the {self.deadline:g} s "
                                          f"deadline for another attempt ({last})") from last
            if isinstance(last, httpx.TransportError):
                raise FacilityUnavailable(f"{type(last).__name__} after {gave_up.attempts} "
                                          f"attempt(s): {self._clean(str(last))}") from last
            raise last from None

    def _send(self, method: str, path: str, *, json: Any, params: dict[str, Any] | None,
              content: bytes | None, ok: tuple[int, ...], attempt: int,
              budget: Deadline) -> httpx.Response:
        request = self._client.build_request(method, path, json=json, params=params,
                                             content=content)
        started = datetime.now(UTC)
        t0 = time.perf_counter()
        record = Transaction(facility=self.facility, method=method,
                             url=self._clean(str(request.url)), status=None, elapsed=0.0,
                             started=started, attempt=attempt,
                             request_bytes=len(request.content or b""))
        try:
            response = read_response(self._client, request, budget, read_timeout=self.timeout,
                                     max_bytes=self.max_response_bytes)
        except httpx.TransportError as exc:
            record.elapsed = time.perf_counter() - t0
            record.error = self._clean(f"{exc.__class__.__name__}: {exc}")
            self._record(record)
            raise
        except (DeadlineExceeded, ResponseTooLarge) as exc:
            record.elapsed = time.perf_counter() - t0
            record.error = str(exc)
            self._record(record)
            raise FacilityUnavailable(str(exc)) from exc
        record.elapsed = time.perf_counter() - t0
        record.status = response.status_code
        record.response_bytes = len(response.content)
        if response.status_code not in ok:
            body = self._clean(response.text[:300].strip())
            record.error = body
            self._record(record)
            raise FacilityHTTPError(
                f"{self.facility}: {method} {record.url} answered {response.status_code} "
                f"{response.reason_phrase}: {body}", response.status_code)
        self._record(record)
        return response

    def _clean(self, text: str) -> str:
        """``text`` without credentials: redacted, and this client's token removed verbatim."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return redact(text)

    def _record(self, record: Transaction) -> None:
        self.transactions.append(record)
        log.info("%s %s %s -> %s in %.3f s%s", record.facility, record.method, record.url,
                 record.status, record.elapsed, f" ({record.error[:80]})" if record.error else "")

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
