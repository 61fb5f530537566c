"""A listener process for the kill/restart tests: ``python -m tests.listener_process ...``.

Runs the real hop listener loop against a loopback broker with a trigger that
appends each notice id to a log file (flushed and fsynced) before marking the
notice triggered, so a test can count trigger calls across a SIGKILL.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time

from tooflow.db import get_engine
from tooflow.intake.listeners import run_source
from tooflow.intake.listeners.hop import hop_source
from tooflow.intake.trigger import FlowRunRef, mark_triggered, reconcile


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--group", required=True)
    p.add_argument("--db", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--delay", type=float, default=0.0, help="seconds per trigger")
    args = p.parse_args()
    engine = get_engine(url=args.db)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def trigger(notice_id: int) -> str:
        with open(args.log, "a") as f:
            f.write(f"{notice_id}\n")
            f.flush()
            os.fsync(f.fileno())
        time.sleep(args.delay)
        mark_triggered(notice_id, FlowRunRef(f"fake-{notice_id}", "fake"), engine=engine)
        return f"fake-{notice_id}"

    reconcile(engine, trigger=trigger)  # as `tooflow listen` does when it starts
    source = hop_source({"url": args.url, "group_id": args.group, "auth": False,
                         "start_at": "earliest",
                         "kafka": {"session.timeout.ms": 2000, "heartbeat.interval.ms": 500}})
    run_source(source, engine=engine, trigger=trigger, stop=stop, poll_timeout=0.2,
               status_interval=0.5)


if __name__ == "__main__":
    main()
