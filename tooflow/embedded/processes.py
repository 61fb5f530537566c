"""Long-lived local helper processes, started once and reused.

The embedded default needs a Prefect server (the telescope simulator runs in the
flow's own process instead, see :mod:`tooflow.facilities.routing`). It is started
the first time a command needs it, as a detached
process whose address and pid are recorded in ``$TOOFLOW_HOME/<name>/service.json``;
later commands find it healthy and reuse it. ``stop_service`` stops it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["ensure_service", "service_status", "stop_service", "free_port"]


def free_port(preferred: int = 0) -> int:
    """``preferred`` if it is free on 127.0.0.1, else any free port."""
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free TCP port on 127.0.0.1")


def _state_path(home: Path, name: str) -> Path:
    return home / name / "service.json"


def _healthy(url: str, timeout: float = 2.0) -> bool:
    import httpx  # here: a command that finds no service recorded never needs it

    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def service_status(home: Path, name: str) -> dict | None:
    """The recorded service (``url``, ``health``, ``pid``) if it answers, else None."""
    path = _state_path(home, name)
    if not path.is_file():
        return None
    state = json.loads(path.read_text())
    return state if _healthy(state["health"]) else None


def ensure_service(home: Path, name: str, *, argv: Callable[[int], list[str]],
                   url: Callable[[int], str], health: Callable[[int], str],
                   preferred_port: int = 0,
                   env: dict[str, str] | Callable[[int], dict[str, str]] | None = None,
                   timeout: float = 90.0, echo: Callable[[str], object] | None = None) -> dict:
    """Return the running service, starting it first if needed.

    Parameters
    ----------
    home : Path
        ``$TOOFLOW_HOME``.
    name : str
        Service name (its directory under ``home``: state file and log).
    argv, url, health : callable
        Given the port: the command line, the service's base URL, its health URL.
    preferred_port : int
        Port to try first.
    env : dict or callable, optional
        Extra environment for the process, or a function of the port giving it
        (for settings that must name the port, such as the Prefect UI's API URL).
    timeout : float
        Seconds to wait for it to answer.

    Returns
    -------
    dict
        ``{"url", "health", "pid", "port"}``.
    """
    state = service_status(home, name)
    if state is not None:
        return state
    port = free_port(preferred_port)
    log_path = home / name / "service.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    if echo:
        echo(f"starting the local {name} on 127.0.0.1:{port} (once; log: {log_path}) ...")
    extra = env(port) if callable(env) else (env or {})
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv(port), stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, **extra}, start_new_session=True)
    t0 = time.monotonic()
    while not _healthy(health(port)):
        if proc.poll() is not None:
            raise RuntimeError(f"the local {name} exited at start-up; see {log_path}")
        if time.monotonic() - t0 > timeout:
            os.killpg(proc.pid, signal.SIGKILL)
            raise RuntimeError(f"the local {name} did not answer in {timeout:.0f} s; "
                               f"see {log_path}")
        time.sleep(0.25)
    if echo:
        echo(f"{name} ready in {time.monotonic() - t0:.1f} s at {url(port)}")
    state = {"url": url(port), "health": health(port), "pid": proc.pid, "port": port}
    _state_path(home, name).write_text(json.dumps(state))
    return state


def stop_service(home: Path, name: str) -> bool:
    """Stop a service started by :func:`ensure_service`; True if one was running."""
    path = _state_path(home, name)
    if not path.is_file():
        return False
    state = json.loads(path.read_text())
    path.unlink()
    try:
        os.killpg(state["pid"], signal.SIGINT)
    except ProcessLookupError:
        return False
    for _ in range(60):
        try:
            os.kill(state["pid"], 0)
        except ProcessLookupError:
            return True
        time.sleep(0.25)
    os.killpg(state["pid"], signal.SIGKILL)
    return True
