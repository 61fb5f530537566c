"""What the long-running commands (``listen``, ``coincidence run``) share on the command line.

Their ``--config``/``--log`` options and how they apply them, and the
stop-on-signal event. The services themselves: :mod:`tooflow.intake.service`,
:mod:`tooflow.snews.wiring`.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from pathlib import Path

__all__ = ["add_service_options", "setup_service", "stop_on_signals"]


def add_service_options(p: argparse.ArgumentParser) -> None:
    """Add ``--config FILE`` and ``-l/--log LEVEL``."""
    p.add_argument("--config", type=Path, metavar="FILE",
                   help="tooflow.yaml to use (default: $TOOFLOW_CONFIG or "
                        "$TOOFLOW_HOME/tooflow.yaml)")
    p.add_argument("-l", "--log", default="info",
                   choices=["critical", "error", "warning", "info", "debug"], help="log level")


def setup_service(args: argparse.Namespace):
    """Apply ``--config`` and ``--log``; return the loaded settings."""
    from ..config import load_settings

    if args.config:
        if not args.config.is_file():
            raise FileNotFoundError(f"no such configuration file: {args.config}")
        os.environ["TOOFLOW_CONFIG"] = str(args.config)
    logging.basicConfig(level=args.log.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return load_settings()


def stop_on_signals(log: logging.Logger) -> threading.Event:
    """An event set by SIGTERM or SIGINT: stop after the current message."""
    stop = threading.Event()

    def _stop(signum, _frame):
        log.info("signal %s: stopping after the current message", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return stop

