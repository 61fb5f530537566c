"""tooflow's deployments served on the embedded local Prefect server.

In production, ``prefect deploy --all`` registers the deployments of
``prefect.yaml`` and process workers run them. On the embedded default there
is no work pool and no worker, so a flow run created with ``run_deployment``
(by ``tooflow listen``, the UI's Run button, ``tooflow rerun``) would have
nothing to run it. Here the same four flows are *served* with Prefect's own
:func:`prefect.serve`: the serving process registers ``handle-notice/handle-notice``,
``rerun/rerun``, ``monitor-events/monitor-events`` and
``resubmit-unsent/resubmit-unsent`` on the local server (the last two on their
schedules) and runs each new flow run in a child process, as a process worker
would. Each flow run being its own process, telescopes without a queue of
their own need one simulator every run reaches: ``tooflow listen`` serves it
and starts the runner with its URL (``TOOFLOW_SIMULATOR_URL``), which every
flow run inherits; ``monitor: {mode: deployment}`` otherwise needs the
simulator as a service: :func:`serve` and :func:`start_runner` refuse to start
without one (:func:`tooflow.flows.monitor.check_monitor_placement`).

``tooflow listen`` (and ``tooflow coincidence run``) start it beside themselves
on the embedded default; ``tooflow server serve`` runs it in the foreground.
Commands that run one flow (``ingest``, ``rerun``, ``reconcile``) use a served
deployment when one is being served (:func:`deployment_is_served`) and
otherwise run the flow in their own process.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import signal
import subprocess
import sys
import time

__all__ = ["SERVED", "deployment_is_served", "serve", "start_runner", "stop_runner",
           "wait_for_deployment"]

log = logging.getLogger(__name__)

#: ``<flow>/<deployment>`` names served, as ``prefect.yaml`` names them.
SERVED = ("handle-notice/handle-notice", "rerun/rerun", "monitor-events/monitor-events",
          "resubmit-unsent/resubmit-unsent")

#: resubmit-unsent runs on this schedule (seconds), as its prefect.yaml deployment does.
RESUBMIT_EVERY = 300

#: Seconds between the runner's polls for new runs.
QUERY_SECONDS = 2.0

#: A served deployment whose runner polled within this many seconds is live.
LIVE_SECONDS = 60.0


def serve(limit: int | None = None) -> None:
    """Serve the flows of prefect.yaml on the configured Prefect API until SIGINT/SIGTERM.

    ``resubmit-unsent`` is served on its schedule (every :data:`RESUBMIT_EVERY`
    seconds), so requests a queue refused are sent again on the embedded
    default too, not only by ``tooflow reconcile``; ``monitor-events`` every
    ``monitor.poll_every`` seconds (300 by default), one run at a time.

    Parameters
    ----------
    limit : int, optional
        At most this many flow runs at once (default: Prefect's runner limit).

    Raises
    ------
    tooflow.flows.monitor.MonitorPlacementError
        Before serving anything, for ``monitor.mode: deployment`` with
        telescopes simulated in-process.
    """
    # Ctrl-C must stop it even when started in the background with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from prefect import serve as prefect_serve
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.deployments.runner import EntrypointType

    from ..config import load_settings
    from ..flows.handle_notice import handle_notice
    from ..flows.monitor import check_monitor_placement, monitor_events
    from ..flows.rerun import rerun
    from ..flows.resubmit import resubmit_unsent_flow
    from ..stages.event_monitor import poll_every

    settings = load_settings()
    check_monitor_placement(settings)
    flows = (handle_notice, rerun, monitor_events, resubmit_unsent_flow)
    schedules = (None, None, poll_every(settings), RESUBMIT_EVERY)
    # one scheduled run at a time; a run due while one is running is dropped
    one = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)
    limits = (None, None, one, None)
    # The module form of the entrypoint: the file form breaks the flows'
    # package-relative imports (see docs/operations.md).
    deployments = [f.to_deployment(name=name.split("/")[1], tags=["tooflow", "served"],
                                   entrypoint_type=EntrypointType.MODULE_PATH, interval=every,
                                   concurrency_limit=limit)
                   for f, name, every, limit in zip(flows, SERVED, schedules, limits,
                                                    strict=True)]
    # Poll every 2 s, not Prefect's 10 s: a notice's run starts sooner, and a
    # local server does not mind.
    prefect_serve(*deployments, limit=limit, print_starting_message=False,
                  query_seconds=QUERY_SECONDS)


def deployment_is_served(name: str, *, live_seconds: float = LIVE_SECONDS) -> bool:
    """True when ``name`` exists on the current Prefect API and a runner polled it lately.

    A served deployment outlives the process that served it; runs created for it
    once nobody serves it would wait for ever. This tells the two apart.
    """
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            deployment = client.read_deployment_by_name(name)
        except ObjectNotFound:
            return False
    last = deployment.last_polled
    if last is None:
        return False
    age = (dt.datetime.now(dt.UTC) - last).total_seconds()
    return age < live_seconds


def start_runner(*, log_path=None, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start :func:`serve` in a child process (stopped when this process exits).

    The child inherits the environment, plus ``env``, and hands it on to each
    flow run it starts: ``PREFECT_API_URL`` must already name the server
    (:func:`tooflow.embedded.prefect_server.activate_prefect_api`);
    ``tooflow listen`` adds ``TOOFLOW_SIMULATOR_URL``, the simulator it serves
    (:func:`tooflow.simulator.local.shared_simulator_env`).

    Raises
    ------
    tooflow.flows.monitor.MonitorPlacementError
        At once, for ``monitor.mode: deployment`` with telescopes simulated
        in-process (rather than a child that exits and is restarted for ever).
    """
    from ..config import load_settings
    from ..flows.monitor import check_monitor_placement

    child_env = {**os.environ, **(env or {})}
    check_monitor_placement(load_settings(child_env))
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", __name__], stdout=out,
                            stderr=subprocess.STDOUT, env=child_env)
    if log_path:
        out.close()
    atexit.register(stop_runner, proc)
    log.info("serving %s on the local Prefect server (pid %d%s)", ", ".join(SERVED),
             proc.pid, f"; log: {log_path}" if log_path else "")
    return proc


def wait_for_deployment(proc: subprocess.Popen, name: str = SERVED[0], *,
                        timeout: float = 300.0) -> bool:
    """Wait until the runner ``proc`` serves ``name``; False if it exited or ``timeout`` passed.

    ``timeout`` only bounds a hang: a busy machine takes tens of seconds to
    import the flows.
    """
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            return False
        try:
            if deployment_is_served(name):
                return True
        except Exception as exc:  # noqa: BLE001 - the API may be restarting; try again
            log.debug("waiting for %s: %s", name, exc)
        time.sleep(0.5)
    return False


def stop_runner(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Stop a runner started by :func:`start_runner` (SIGTERM, then SIGKILL)."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


if __name__ == "__main__":  # pragma: no cover - exercised as a child process
    serve()
