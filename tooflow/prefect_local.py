"""The embedded Prefect server: started once, reused by every ``tooflow`` command.

Without ``PREFECT_API_URL`` Prefect would start a temporary server inside every
process (8–25 s each time). Instead, the first command that needs Prefect
starts ``prefect server start`` in the background with its home under
``$TOOFLOW_HOME/prefect`` and records where it listens; later commands find it
healthy and connect in milliseconds. ``tooflow server stop`` stops it. When
``PREFECT_API_URL`` is set (production), that server is used and nothing starts.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from .config import Settings

__all__ = ["ensure_prefect_api", "stop_local_server", "local_server_status", "prefect_env",
           "use_prefect_api"]


def _state_file(settings: Settings) -> Path:
    return settings.home / "prefect" / "server.json"


def prefect_env(settings: Settings) -> dict[str, str]:
    """Environment for a local Prefect server and its clients."""
    home = settings.home / "prefect"
    return {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
    }


def _healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def _free_port(preferred: int = 4200) -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port for the Prefect server")


def _configured_api_url() -> str | None:
    """PREFECT_API_URL from the environment or the active Prefect profile/settings."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


def local_server_status(settings: Settings) -> dict | None:
    """The recorded local server (``api_url``, ``pid``) if it answers, else None."""
    path = _state_file(settings)
    if not path.is_file():
        return None
    state = json.loads(path.read_text())
    return state if _healthy(state["api_url"]) else None


def ensure_prefect_api(settings: Settings, *, timeout: float = 90.0,
                       echo=None) -> str:
    """Make sure a Prefect API is reachable and point this process at it.

    Returns
    -------
    str
        The API URL (also set in ``os.environ["PREFECT_API_URL"]``).
    """
    configured = _configured_api_url()
    if configured:
        return configured
    for key, value in prefect_env(settings).items():
        os.environ.setdefault(key, value)
    state = local_server_status(settings)
    if state is None:
        port = _free_port()
        api_url = f"http://127.0.0.1:{port}/api"
        log_path = settings.home / "prefect" / "server.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        if echo:
            echo(f"starting the local Prefect server on 127.0.0.1:{port} "
                 f"(once; log: {log_path}) ...")
        env = {**os.environ, **prefect_env(settings)}
        env.pop("PREFECT_API_URL", None)
        prefect_bin = Path(sys.executable).with_name("prefect")
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [str(prefect_bin), "server", "start", "--host", "127.0.0.1", "--port",
                 str(port), "--analytics-off"],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        t0 = time.monotonic()
        while not _healthy(api_url):
            if proc.poll() is not None:
                raise RuntimeError(f"the Prefect server exited; see {log_path}")
            if time.monotonic() - t0 > timeout:
                proc.terminate()
                raise RuntimeError(f"the Prefect server did not start in {timeout:.0f} s; "
                                   f"see {log_path}")
            time.sleep(0.25)
        if echo:
            echo(f"Prefect server ready in {time.monotonic() - t0:.1f} s: "
                 f"UI at {api_url.removesuffix('/api')}")
        state = {"api_url": api_url, "pid": proc.pid}
        _state_file(settings).write_text(json.dumps(state))
    os.environ["PREFECT_API_URL"] = state["api_url"]
    return state["api_url"]


@contextmanager
def use_prefect_api(settings: Settings, *, echo=None) -> Iterator[str]:
    """Run the body against a reachable Prefect API (see :func:`ensure_prefect_api`).

    Prefect reads its settings once per process, so the URL is applied with
    :func:`prefect.settings.temporary_settings` rather than the environment.
    """
    url = ensure_prefect_api(settings, echo=echo)
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}):
        yield url


def stop_local_server(settings: Settings) -> bool:
    """Stop the local server started by :func:`ensure_prefect_api`; True if one was running."""
    path = _state_file(settings)
    if not path.is_file():
        return False
    state = json.loads(path.read_text())
    path.unlink()
    try:
        os.killpg(state["pid"], signal.SIGINT)
    except ProcessLookupError:
        return False
    for _ in range(40):
        try:
            os.kill(state["pid"], 0)
        except ProcessLookupError:
            return True
        time.sleep(0.25)
    os.killpg(state["pid"], signal.SIGKILL)
    return True
