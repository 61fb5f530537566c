"""The listener service: every configured source in its own thread, the reconciler beside them.

What ``tooflow listen`` runs (:mod:`tooflow.cli.listen` only parses its
options). Every message is stored, then acknowledged, then (on the trigger pool's
threads) first light runs here for a notice of a new event
(:func:`warm_first_light`), then the ``handle-notice`` deployment is
triggered; notices that could not be triggered (Prefect API down) stay
pending and are retried every
``reconcile_interval`` seconds. Without PREFECT_API_URL (the embedded default)
it uses the local Prefect server and serves the deployments on it
(:func:`connect_prefect`), so the triggered runs run beside the listener, and
it serves the telescope simulator for itself and every one of those runs
(:func:`tooflow.simulator.local.serve_shared_simulator`): one queue for its
first light, every notice's run and every monitor.
"""

from __future__ import annotations

import logging
import threading

__all__ = ["connect_prefect", "listen", "share_simulator", "start_local_runner",
           "warm_first_light"]

log = logging.getLogger("tooflow.listen")


def listen(settings, names: list[str] | None = None, *, stop: threading.Event | None = None,
           trigger=None) -> None:
    """Run the listeners ``names`` until ``stop`` is set.

    Parameters
    ----------
    settings : Settings
        tooflow settings (the ``listeners:`` section and the database).
    names : list of str, optional
        Sources to run (default: every configured one).
    stop : threading.Event, optional
        Set it to stop every source.
    trigger : callable, optional
        ``trigger(notice_id)``; default :func:`tooflow.intake.trigger.trigger_notice`.
    """
    from ..db import create_schema, get_engine
    from .listeners import build_sources, listeners_config, run_source
    from .trigger import DEFAULT_DEPLOYMENT, reconcile, trigger_notice, warm_up

    section = listeners_config(settings)
    sources = build_sources(settings, names)
    engine = get_engine(settings)
    create_schema(engine)
    stop = stop or threading.Event()
    runner = None
    if trigger is None:
        deployment = section.deployment or DEFAULT_DEPLOYMENT
        settings = share_simulator(settings, log)
        runner = connect_prefect(settings, log)
        warm_up(deployment)

        def trigger(notice_id: int) -> str:
            return trigger_notice(notice_id, deployment=deployment, engine=engine)

    if section.first_light and settings.planning.first_light:
        trigger = warm_first_light(trigger, settings, engine, section.first_light_deadline)

    threads = [threading.Thread(
        target=run_source, name=f"listen-{s.name}", daemon=True,
        kwargs=dict(source=s, engine=engine, trigger=trigger, stop=stop,
                    max_bytes=settings.max_notice_bytes,
                    status_interval=section.status_interval,
                    trigger_workers=section.trigger_workers))
        for s in sources]
    for t in threads:
        t.start()
    interval = section.reconcile_interval
    while True:
        if runner is not None and runner.poll() is not None:
            log.error("the local runner exited (status %s); starting it again", runner.returncode)
            runner = start_local_runner(settings, log)
        if interval > 0:  # at start (a crash may have left notices pending), then periodically
            n = reconcile(engine, trigger=trigger)
            if n:
                log.info("reconciler: triggered %d pending notice(s)", n)
        if stop.wait(interval if interval > 0 else 3600):
            break
    for t in threads:
        t.join(timeout=30)
    if runner is not None:
        from ..embedded.runner import stop_runner

        stop_runner(runner)


def share_simulator(settings, log: logging.Logger):
    """On the embedded default, one simulator for the listener and the runs its runner starts.

    Each served flow run is a new process: with a simulator of its own, a later
    notice's run, its monitor and the listener's first light would each talk to
    a queue that never saw the others' requests. So when the deployments are
    served here (no ``PREFECT_API_URL``) and some program's telescope is
    simulated without ``facilities.simulator.url``, the listener serves it
    (:func:`tooflow.simulator.local.serve_shared_simulator`) and
    :func:`start_local_runner` hands its URL to the runner in
    ``TOOFLOW_SIMULATOR_URL``. Returns the settings with that URL.
    """
    from ..embedded.prefect_server import is_embedded
    from ..flows.monitor import simulated_in_process

    if not is_embedded() or not simulated_in_process(settings):
        return settings
    from ..simulator.local import serve_shared_simulator

    return serve_shared_simulator(settings, echo=log.info)


def warm_first_light(trigger, settings, engine, deadline: float):
    """``trigger`` preceded by first light in this warm process; the path warmed up meanwhile.

    :func:`tooflow.stages.warm_first_light.first_light_then_trigger`: on the
    trigger pool's threads (storing and acknowledging never wait for it), within
    ``deadline`` seconds, the flow triggered whatever it did. A background thread
    imports the first-light path and fills its caches (telescopes, field grids,
    today's Sun and Moon) so that the first notice does not pay for them.
    """
    from ..stages.warm_first_light import first_light_then_trigger, warm_up

    def warm() -> None:
        try:
            log.info("first light warmed up in %.1f s", warm_up(settings))
        except Exception as exc:  # noqa: BLE001 - only an optimisation
            log.warning("first light warm-up failed (the first notice pays for it): %s", exc)

    threading.Thread(target=warm, name="first-light-warm-up", daemon=True).start()
    return first_light_then_trigger(trigger, engine=engine, settings=settings,
                                    deadline=deadline)


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
    from ..simulator.local import shared_simulator_env

    log_path = settings.home / "prefect" / "runner.log"
    runner = start_runner(log_path=log_path, env=shared_simulator_env())
    if not wait_for_deployment(runner):
        log.error("the local runner serving the deployments did not come up (see %s); "
                  "notices stay pending until it does", log_path)
    return runner
