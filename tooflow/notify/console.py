"""Console channel: what a notification says, when no other channel is configured."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

__all__ = ["print_notification"]

logger = logging.getLogger("tooflow.notify")


def print_notification(text: str, *, stream: TextIO | None = None) -> str:
    """Write one notification line to ``stream`` (default stderr) and to the log.

    Returns
    -------
    str
        The line written.
    """
    line = f"[tooflow notify] {text}"
    print(line, file=stream or sys.stderr, flush=True)
    logger.info("%s", line)
    return line
