"""The embedded Prefect server: started once, reused by every ``tooflow`` command.

Without ``PREFECT_API_URL`` Prefect would start a temporary server inside every
process (8–25 s each time). Instead, the first command that needs Prefect
starts ``prefect server start`` in the background with its home under
``$TOOFLOW_HOME/prefect`` (:mod:`tooflow.embedded.processes`); later commands find
it healthy and connect in milliseconds. ``tooflow server stop`` stops it. When
``PREFECT_API_URL`` is configured (production), that server is used and
nothing starts.

When port 4200 is taken, the server starts on another free port, and its UI is
told that port (``PREFECT_SERVER_UI_API_URL``): otherwise the UI served there
would query whatever answers on 4200 (another server's runs; "Page Not Found"
for every run link tooflow prints).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..config import Settings
from .processes import ensure_service, service_status, stop_service

__all__ = ["activate_prefect_api", "configured_api_url", "ensure_prefect_api", "is_embedded",
           "local_server_status", "prefect_env", "stop_local_server", "use_prefect_api"]

SERVICE = "prefect"

#: The local server's URL once :func:`activate_prefect_api` exported it (still embedded).
_activated: str | None = None


def prefect_env(settings: Settings, port: int | None = None) -> dict[str, str]:
    """Environment for a local Prefect server and its clients.

    Parameters
    ----------
    settings : Settings
        tooflow settings (``home``).
    port : int, optional
        The server's port: its UI then asks that port's API (not 4200's), and
        its links name that port.
    """
    env = {
        "PREFECT_HOME": str(settings.home / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
    }
    if port is not None:
        env.update({
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_API_PORT": str(port),
            "PREFECT_SERVER_UI_API_URL": f"http://127.0.0.1:{port}/api",
            "PREFECT_UI_URL": f"http://127.0.0.1:{port}",
        })
    return env


def configured_api_url() -> str | None:
    """PREFECT_API_URL from the environment or the active Prefect profile/settings.

    The local server's URL exported by :func:`activate_prefect_api` does not count:
    that is still the embedded default.
    """
    url = os.environ.get("PREFECT_API_URL")
    if not url and _api_url_may_be_configured():
        from prefect.settings import PREFECT_API_URL  # seconds: all of Prefect's client

        url = PREFECT_API_URL.value()
    return url if url and url != _activated else None


def _api_url_may_be_configured(cwd: Path | None = None) -> bool:
    """False only when none of Prefect's settings sources can hold an API URL.

    Importing Prefect to ask costs seconds of CPU (``tooflow show`` asks for
    the flow-run links). Prefect reads, besides ``PREFECT_API_URL``: other
    ``PREFECT_API_*``/``PREFECT_PROFILE*`` variables, ``.env``, ``prefect.toml``
    and ``pyproject.toml``'s ``[tool.prefect]`` in the working directory, and
    the active profile of ``$PREFECT_HOME/profiles.toml`` (without that file,
    its built-in ``ephemeral`` profile, which has no API URL), and, once Prefect
    is imported, a settings context (``temporary_settings``, the test harness).
    Whenever one of them could say something, Prefect is asked; this only skips
    the import when the answer is certainly "none".
    """
    import tomllib

    if "prefect" in sys.modules:  # imported: free to ask, and a settings context may be active
        return True
    if any(k.startswith(("PREFECT_API_", "PREFECT_PROFILE")) for k in os.environ):
        return True
    cwd = cwd or Path.cwd()
    try:
        if (cwd / "prefect.toml").exists():
            return True
        env_file = cwd / ".env"
        if env_file.is_file() and "PREFECT_" in env_file.read_text(errors="replace"):
            return True
        pyproject = cwd / "pyproject.toml"
        if pyproject.is_file() and "prefect" in tomllib.loads(
                pyproject.read_text()).get("tool", {}):
            return True
        home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
        profiles_path = home / "profiles.toml"
        if not profiles_path.is_file():
            return False
        profiles = tomllib.loads(profiles_path.read_text())
    except (OSError, ValueError):  # unreadable or not TOML: let Prefect decide (and warn)
        return True
    active = profiles.get("profiles", {}).get(profiles.get("active"), {})
    return any(str(key).upper().startswith("PREFECT_API") for key in active)


def is_embedded() -> bool:
    """True on the embedded default: no Prefect API configured, tooflow runs its own server."""
    return configured_api_url() is None


def local_server_status(settings: Settings) -> dict | None:
    """The local server (``url``, ``pid``) if it answers, else None."""
    return service_status(settings.home, SERVICE)


def ensure_prefect_api(settings: Settings, *, timeout: float = 300.0, echo=None) -> str:
    """Make sure a Prefect API is reachable; return its URL.

    The local server gets ``timeout`` seconds to answer: 15–30 s on an idle
    machine, 60–90 s were measured on two cores busy with other work.
    """
    configured = configured_api_url()
    if configured:
        return configured
    prefect_bin = str(Path(sys.executable).with_name("prefect"))
    state = ensure_service(
        settings.home, SERVICE,
        argv=lambda port: [prefect_bin, "server", "start", "--host", "127.0.0.1",
                           "--port", str(port), "--analytics-off"],
        url=lambda port: f"http://127.0.0.1:{port}/api",
        health=lambda port: f"http://127.0.0.1:{port}/api/health",
        preferred_port=4200, env=lambda port: prefect_env(settings, port),
        timeout=timeout, echo=echo)
    return state["url"]


@contextmanager
def use_prefect_api(settings: Settings, *, echo=None) -> Iterator[str]:
    """Run the body against a reachable Prefect API (see :func:`ensure_prefect_api`).

    Prefect reads its settings once per process, so the URL is applied with
    :func:`prefect.settings.temporary_settings` rather than the environment.
    """
    global _activated
    embedded = is_embedded()
    url = ensure_prefect_api(settings, echo=echo)
    if embedded:
        _activated = url
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}):
        yield url


def activate_prefect_api(url: str) -> None:
    """Point every Prefect client of this process, and of its child processes, at ``url``.

    For the long-running commands (``listen``, ``coincidence run``), whose
    threads create flow runs: :func:`prefect.settings.temporary_settings` only
    reaches the calling thread, so the process-wide settings context is replaced
    (as Prefect's own test harness does) and ``PREFECT_API_URL`` is exported for
    child processes.
    """
    global _activated
    if is_embedded():
        _activated = url
    os.environ["PREFECT_API_URL"] = url
    import prefect.context
    from prefect.settings import PREFECT_API_URL

    current = prefect.context.SettingsContext.get()
    prefect.context.GLOBAL_SETTINGS_CONTEXT = prefect.context.SettingsContext(
        profile=current.profile,
        settings=current.settings.copy_with_update(updates={PREFECT_API_URL: url}))


def stop_local_server(settings: Settings) -> bool:
    """Stop the local server started by :func:`ensure_prefect_api`."""
    return stop_service(settings.home, SERVICE)
