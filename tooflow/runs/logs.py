"""tooflow's own log lines in the Prefect UI, beside the flow's.

Prefect sends only its run loggers (``get_run_logger``) to the API; the lines
tooflow's modules log (``logging.getLogger("tooflow....")``: facilities, notify,
planning...) stayed on the console. :func:`send_tooflow_logs_to_prefect`
attaches Prefect's API log handler to the ``tooflow`` logger, restricted to
records emitted inside a flow or task run (a listener's lines outside runs are
not sent, and no "missing flow run" warning is raised), at INFO. It is called
by the flows when they start, so it holds in worker processes too.
"""

from __future__ import annotations

import logging

from prefect.logging.handlers import APILogHandler

__all__ = ["RunLogHandler", "send_tooflow_logs_to_prefect"]


class RunLogHandler(APILogHandler):
    """Prefect's :class:`~prefect.logging.handlers.APILogHandler`, for records in a run."""

    def emit(self, record: logging.LogRecord) -> None:
        from prefect.context import FlowRunContext, TaskRunContext

        if getattr(record, "flow_run_id", None) is None and FlowRunContext.get() is None \
                and TaskRunContext.get() is None:
            return  # outside any run: nothing to attach it to
        super().emit(record)


def send_tooflow_logs_to_prefect(name: str = "tooflow", level: int = logging.INFO) -> None:
    """Send the ``name`` logger's records at ``level`` and above to the run's log (once).

    The logger's level is lowered to ``level`` if it was higher or unset; where
    they are printed is left to the console handlers' own levels.
    """
    logger = logging.getLogger(name)
    if not any(isinstance(h, RunLogHandler) for h in logger.handlers):
        handler = RunLogHandler()
        handler.setLevel(level)
        logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
