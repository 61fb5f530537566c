"""``tooflow listen --check``: connect for real to every endpoint the listener needs.

A configuration that only *looks* right (a password the broker refuses, a
Prefect API key that has expired) must fail the check, not the first night:

* the Prefect API: an authenticated read of the ``handle-notice`` deployment
  (on the embedded default: the local server answers if it runs — the check
  starts nothing; ``tooflow listen`` starts it and serves the deployments);
* each Kafka source: authenticate and read the metadata of every topic;
* the VOEvent source: open a TCP connection to a configured server.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CheckResult", "check_prefect", "check_source"]


@dataclass(frozen=True)
class CheckResult:
    """One endpoint checked."""

    name: str
    ok: bool
    detail: str


def check_prefect(settings, deployment: str) -> CheckResult:
    """Read the ``deployment`` through the configured Prefect API (auth included)."""
    from ...embedded.prefect_server import is_embedded, local_server_status
    from ...guards.text import redact

    try:
        if is_embedded():  # tooflow's own server: `tooflow listen` starts it if needed
            running = local_server_status(settings)  # None unless it answers
            if running is None:
                return CheckResult("prefect", True, "embedded default: no local server "
                                   "running yet; `tooflow listen` starts it and serves "
                                   "the deployments")
            return CheckResult("prefect", True, f"local server {running['url']} answers "
                               "(its deployments are served when the listener starts)")
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL

        with get_client(sync_client=True) as client:
            found = client.read_deployment_by_name(deployment)
        return CheckResult("prefect", True, f"{PREFECT_API_URL.value()}: deployment "
                           f"{deployment} ({found.id})")
    except Exception as exc:  # noqa: BLE001 - the check reports every failure
        return CheckResult("prefect", False,
                           redact(f"{exc.__class__.__name__}: {exc}").splitlines()[0][:500])


def check_source(source, timeout: float = 10.0) -> CheckResult:
    """Connect ``source`` for real (its ``check(timeout)``); never raises."""
    from ...guards.text import redact

    try:
        return CheckResult(source.name, True, source.check(timeout))
    except Exception as exc:  # noqa: BLE001 - the check reports every failure
        return CheckResult(source.name, False, redact(str(exc))[:500])
