"""What the long-running commands (``listen``, ``coincidence run``) share.

Their ``--config``/``--log`` options and how they apply them, the stop-on-signal
event, and the connection to the Prefect API (started locally when none is
configured; when none can be reached the notices stay pending for the reconciler).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from pathlib import Path

__all__ = ["add_service_options", "setup_service", "stop_on_signals", "connect_prefect",
           "start_local_runner"]


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


def connect_prefect(settings, log: logging.Logger, *, serve: bool = True):
    """Reach a Prefect API: the configured one, else the local one (started if needed).

    On the embedded default the local server's URL is applied to the whole
    process and, with ``serve``, tooflow's deployments are served beside it
    (:mod:`tooflow.embedded.runner`) so that triggered runs run. Returns that runner
    process (or None). When no API can be reached, logs it and goes on: notices
    stay pending for the reconciler.
    """
    from ..embedded.prefect_server import activate_prefect_api, ensure_prefect_api, is_embedded

    if not is_embedded():
        return None
    try:
        url = ensure_prefect_api(settings, echo=log.info)
    except Exception as exc:  # noqa: BLE001 - notices stay pending; the reconciler retries
        log.error("no Prefect API (%s): notices will be stored and triggered later", exc)
        return None
    activate_prefect_api(url)
    if not serve:
        return None
    return start_local_runner(settings, log)


def start_local_runner(settings, log: logging.Logger):
    """Serve tooflow's deployments on the local server; wait until handle-notice is served."""
    from ..embedded.runner import start_runner, wait_for_deployment

    log_path = settings.home / "prefect" / "runner.log"
    runner = start_runner(log_path=log_path)
    if not wait_for_deployment(runner):
        log.error("the local runner serving the deployments did not come up (see %s); "
                  "notices stay pending until it does", log_path)
    return runner
