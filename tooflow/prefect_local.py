"""The embedded Prefect server: started once, reused by every ``tooflow`` command.

Without ``PREFECT_API_URL`` Prefect would start a temporary server inside every
process (8–25 s each time). Instead, the first command that needs Prefect
starts ``prefect server start`` in the background with its home under
``$TOOFLOW_HOME/prefect`` (:mod:`tooflow.local_services`); later commands find
it healthy and connect in milliseconds. ``tooflow server stop`` stops it. When
``PREFECT_API_URL`` is configured (production), that server is used and
nothing starts.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .config import Settings
from .local_services import ensure_service, service_status, stop_service

__all__ = ["ensure_prefect_api", "stop_local_server", "local_server_status", "prefect_env",
           "use_prefect_api"]

SERVICE = "prefect"


def prefect_env(settings: Settings) -> dict[str, str]:
    """Environment for a local Prefect server and its clients."""
    return {
        "PREFECT_HOME": str(settings.home / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
    }


def _configured_api_url() -> str | None:
    """PREFECT_API_URL from the environment or the active Prefect profile/settings."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


def local_server_status(settings: Settings) -> dict | None:
    """The local server (``url``, ``pid``) if it answers, else None."""
    return service_status(settings.home, SERVICE)


def ensure_prefect_api(settings: Settings, *, timeout: float = 120.0, echo=None) -> str:
    """Make sure a Prefect API is reachable; return its URL."""
    configured = _configured_api_url()
    if configured:
        return configured
    env = prefect_env(settings)
    env.pop("PREFECT_API_URL", None)
    prefect_bin = str(Path(sys.executable).with_name("prefect"))
    state = ensure_service(
        settings.home, SERVICE,
        argv=lambda port: [prefect_bin, "server", "start", "--host", "127.0.0.1",
                           "--port", str(port), "--analytics-off"],
        url=lambda port: f"http://127.0.0.1:{port}/api",
        health=lambda port: f"http://127.0.0.1:{port}/api/health",
        preferred_port=4200, env=env, timeout=timeout, echo=echo)
    return state["url"]


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
    """Stop the local server started by :func:`ensure_prefect_api`."""
    return stop_service(settings.home, SERVICE)
