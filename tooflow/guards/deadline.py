"""Total deadlines for external calls: nothing tooflow waits for may wait forever.

A per-read timeout does not bound a call: a server that sends one byte every
few seconds never trips it. Two tools bound the whole call:

* :func:`read_response` sends an httpx request and reads the answer in chunks,
  checking a :class:`Deadline` (and a size limit) between chunks, and closes the
  connection when either is exceeded. Each read also has its own timeout no
  longer than the time left, so the call ends within the deadline plus at most
  one read timeout.
* :func:`call_with_deadline` runs any blocking call (an SDK, SMTP, a TAP query)
  in a daemon thread and stops waiting for it at the deadline. The abandoned
  thread ends when the library's own per-read timeout fires.

Both raise :class:`DeadlineExceeded`, a :class:`TimeoutError`, whose message
names what timed out and the budget.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import httpx

__all__ = ["Deadline", "DeadlineExceeded", "ResponseTooLarge", "call_with_deadline",
           "read_response"]

R = TypeVar("R")


class DeadlineExceeded(TimeoutError):
    """An external call did not finish within its total deadline."""


class ResponseTooLarge(ValueError):
    """An HTTP answer is larger than the caller accepts."""


@dataclass
class Deadline:
    """A point in time (monotonic clock) by which a call must be done.

    Parameters
    ----------
    seconds : float
        Budget from now.
    what : str
        What is being waited for, for the error message.
    """

    seconds: float
    what: str = "the call"
    end: float = field(init=False)

    def __post_init__(self) -> None:
        self.end = time.monotonic() + max(0.0, float(self.seconds))

    def remaining(self) -> float:
        """Seconds left (0 when passed)."""
        return max(0.0, self.end - time.monotonic())

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return time.monotonic() >= self.end

    def check(self, cause: BaseException | None = None) -> None:
        """Raise :class:`DeadlineExceeded` if the deadline has passed.

        ``cause`` (e.g. the per-read timeout that noticed it) is named in the
        message and chained.
        """
        if not self.expired():
            return
        error = DeadlineExceeded(f"{self.what} did not finish within its {self.seconds:g} s "
                                 f"deadline" + (f" ({cause})" if cause is not None else ""))
        if cause is None:
            raise error
        raise error from cause


def read_response(client: httpx.Client, request: httpx.Request, deadline: Deadline, *,
                  read_timeout: float = 10.0, max_bytes: int | None = None) -> httpx.Response:
    """Send ``request`` and read the whole answer within ``deadline``.

    Parameters
    ----------
    client : httpx.Client
        The client to send with.
    request : httpx.Request
        Built with ``client.build_request``.
    deadline : Deadline
        Total budget of the exchange (connect, send, every read).
    read_timeout : float
        Longest wait for one read (seconds); capped by the time left.
    max_bytes : int, optional
        Largest answer body accepted (bytes after content decoding, so a
        gzip bomb is refused too).

    Returns
    -------
    httpx.Response
        A complete (read, decoded) response: ``content``, ``text``, ``json()`` work.

    Raises
    ------
    DeadlineExceeded
        The exchange took longer than ``deadline``.
    ResponseTooLarge
        The body is longer than ``max_bytes``.
    httpx.TransportError
        Connection failures and per-read timeouts, as httpx raises them.
    """
    deadline.check()
    left = max(0.01, deadline.remaining())
    request.extensions["timeout"] = httpx.Timeout(min(read_timeout, left)).as_dict()
    try:
        response = client.send(request, stream=True)
    except httpx.TimeoutException as exc:
        deadline.check(exc)
        raise
    try:
        declared = response.headers.get("content-length", "")
        if max_bytes is not None and declared.isdigit() and int(declared) > max_bytes:
            raise ResponseTooLarge(f"{deadline.what}: answer of {declared} bytes exceeds "
                                   f"the {max_bytes}-byte limit")
        chunks, size = [], 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise ResponseTooLarge(f"{deadline.what}: answer larger than "
                                           f"{max_bytes} bytes")
                chunks.append(chunk)
                deadline.check()
        except httpx.TimeoutException as exc:
            deadline.check(exc)
            raise
    finally:
        response.close()
    headers = [(k, v) for k, v in response.headers.multi_items()
               if k.lower() not in ("transfer-encoding", "content-length", "content-encoding")]
    full = httpx.Response(response.status_code, headers=headers, content=b"".join(chunks),
                          request=request, extensions={
                              k: v for k, v in response.extensions.items()
                              if k in ("http_version", "reason_phrase")})
    return full


def call_with_deadline(func: Callable[[], R], seconds: float, what: str) -> R:
    """Run ``func()`` and return its result, or raise if it takes longer than ``seconds``.

    The call runs in a daemon thread, in a copy of the caller's context
    (context variables such as Prefect's settings go along); past the deadline
    it is abandoned (its library's own timeouts end it later) and
    :class:`DeadlineExceeded` is raised here. Its exception, if it fails in time, is
    re-raised as is.
    """
    box: dict[str, object] = {}
    done = threading.Event()
    context = contextvars.copy_context()  # the caller's settings (e.g. Prefect's) go along

    def run() -> None:
        try:
            box["result"] = context.run(func)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc
        finally:
            done.set()

    thread = threading.Thread(target=run, name=f"deadline:{what}"[:60], daemon=True)
    thread.start()
    if not done.wait(max(0.0, seconds)):
        raise DeadlineExceeded(f"{what} did not finish within its {seconds:g} s deadline")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["result"]  # type: ignore[return-value]
