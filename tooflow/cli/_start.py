"""How ``tooflow rerun`` and ``tooflow reconcile`` start ``handle-notice`` for a notice.

* Production (``PREFECT_API_URL`` configured): a run of the deployment, for
  the workers; a missing deployment is an error that says how to create it.
* Embedded default: the local server's served deployment when something serves
  it (``tooflow listen``, ``tooflow server serve``), else the flow runs in this
  process, as ``tooflow ingest`` does, and its summary is printed.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["notice_starter"]


def notice_starter(settings, engine, *, deployment: str, rerun: bool = False,
                   echo=print) -> tuple[str, Callable[[int], str]]:
    """Choose how to start the flow; return ``(how, start)``.

    ``how`` is ``"deployment"`` or ``"here"``; ``start(notice_id)`` starts the flow
    and returns the flow run id (deployment) or name (here); when the flow runs
    here and fails, RuntimeError with the reason recorded on the notice.
    """
    from ..embedded.prefect_server import activate_prefect_api, ensure_prefect_api, is_embedded
    from ..embedded.runner import deployment_is_served
    from ..intake.trigger import trigger_notice

    embedded = is_embedded()
    url = ensure_prefect_api(settings, echo=echo)
    if embedded:
        activate_prefect_api(url)
        if not deployment_is_served(deployment):
            from .ingest import run_flow_here

            def here(notice_id: int) -> str:
                summary = run_flow_here(notice_id, settings, echo)
                if summary.failed:
                    raise RuntimeError(f"handle-notice failed for notice #{notice_id}: "
                                       f"{summary.reason}")
                return summary.flow_run_name or ""

            return "here", here

    def trigger(notice_id: int) -> str:
        return trigger_notice(notice_id, deployment=deployment, engine=engine, rerun=rerun)

    return "deployment", trigger
