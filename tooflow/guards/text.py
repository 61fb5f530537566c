"""Text made safe to store, log and print.

* :func:`printable` — any ``str`` (a file name that is not UTF-8 arrives with
  lone surrogates) as valid UTF-8 text: undecodable bytes become ``\\xff``
  escapes, so a database, a log handler or a terminal never refuses it.
* :func:`redact` — credentials removed: ``Authorization``/``Cookie``/API-key
  headers, bearer and basic tokens, ``password=``/``token=``-style pairs,
  passwords in URLs. Everything a facility, broker or HTTP library says goes
  through it before it is stored or printed; :func:`install_log_redaction`
  applies it to every log record of the process (the CLI and the flows install it).
"""

from __future__ import annotations

import logging
import re

__all__ = ["REDACTED", "RedactingFilter", "install_log_redaction", "printable", "redact"]

REDACTED = "[redacted]"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Authorization: Bearer abc / "authorization": "Basic xyz" / Proxy-Authorization
    (re.compile(r"(?i)((?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?)"
                r"(?:(bearer|basic|token|digest|negotiate)\s+)?[^\s'\",;}]+"),
     lambda m: f"{m.group(1)}{(m.group(2) + ' ') if m.group(2) else ''}{REDACTED}"),
    # Bearer tokens anywhere else
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{4,}"), r"\1" + REDACTED),
    # Cookie / Set-Cookie / X-Api-Key / api-key / x-auth-token headers and keys
    (re.compile(r"(?i)((?:set-)?cookie|x-api-key|api[-_]?key|x-auth-token|auth[-_]?token|"
                r"access[-_]?token|refresh[-_]?token|client[-_]?secret|secret|password|passwd|"
                r"pwd|token)(['\"]?\s*[:=]\s*['\"]?)([^\s'\",;&}]+)"),
     r"\1\2" + REDACTED),
    # user:password@host in URLs
    (re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+@"), r"\1" + REDACTED + "@"),
]


def printable(text: str) -> str:
    """``text`` as valid UTF-8 text: lone surrogates (undecodable bytes) escaped."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogateescape") if _only_escapes(text) else None
        if raw is not None:
            return raw.decode("utf-8", "backslashreplace")
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _only_escapes(text: str) -> bool:
    return all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in text)


def redact(text: str) -> str:
    """``text`` with credentials replaced by ``[redacted]`` (and made printable).

    Examples
    --------
    >>> redact("401: {'Authorization': 'Bearer s3cr3t.t0k3n'}")
    "401: {'Authorization': 'Bearer [redacted]'}"
    """
    if not isinstance(text, str):
        text = str(text)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return printable(text)


_HINTS = ("auth", "bearer", "token", "passw", "passwd", "pwd", "secret", "key", "cookie",
          "@")


def _needs_redaction(text: str) -> bool:
    lower = text.lower()
    return any(h in lower for h in _HINTS)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts credentials from every record's message."""

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: A003 - logging API
        _redact_record(record)
        return True


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string is logging's business
        return
    if _needs_redaction(message):
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None


_installed = False


def install_log_redaction() -> None:
    """Redact credentials in every log record of this process, whatever its handler.

    Wraps the log record factory (handlers that Prefect or ``--log`` add later
    are covered too); idempotent.
    """
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _redact_record(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
