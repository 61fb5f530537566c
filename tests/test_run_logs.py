"""tooflow's own log lines go to the Prefect run's logs, and only from inside a run.

That they arrive in a real run's logs is tested in tests/test_flows_failures.py.
"""

from __future__ import annotations

import logging
import warnings


def test_handler_is_attached_once_at_info(monkeypatch):
    from tooflow.runs.logs import RunLogHandler, send_tooflow_logs_to_prefect

    logger = logging.getLogger("tooflow")
    monkeypatch.setattr(logger, "handlers", [h for h in logger.handlers
                                             if not isinstance(h, RunLogHandler)])
    monkeypatch.setattr(logger, "level", logging.NOTSET)
    send_tooflow_logs_to_prefect()
    send_tooflow_logs_to_prefect()
    assert sum(isinstance(h, RunLogHandler) for h in logger.handlers) == 1
    assert logger.level == logging.INFO


def test_lines_outside_a_run_are_not_sent_and_warn_nothing(monkeypatch):
    from prefect.logging import handlers

    from tooflow.runs.logs import RunLogHandler

    sent = []
    monkeypatch.setattr(handlers, "emit_api_log", sent.append)
    record = logging.LogRecord("tooflow.listen", logging.INFO, __file__, 1,
                               "a listener line outside any run", None, None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Prefect's "without a flow run id" warning
        RunLogHandler().emit(record)
    assert sent == []
    # With a flow run id on the record (as Prefect's run loggers set it), it goes.
    record.flow_run_id = "0b7c5a3e-1f0e-4d7e-9a53-3c1d2f0e8a11"
    RunLogHandler().emit(record)
    assert len(sent) == 1 and sent[0]["message"] == "a listener line outside any run"


def test_the_command_line_logs_info_to_prefect_and_warnings_to_the_terminal(monkeypatch):
    from tooflow.cli import _prefect_defaults

    for var in ("PREFECT_LOGGING_LEVEL", "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL",
                "PREFECT_HOME", "PREFECT_SERVER_ANALYTICS_ENABLED"):  # restored after
        monkeypatch.delenv(var, raising=False)
    _prefect_defaults(verbose=False)
    import os

    assert os.environ["PREFECT_LOGGING_LEVEL"] == "INFO"
    assert os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] == "WARNING"
    monkeypatch.delenv("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL")
    _prefect_defaults(verbose=True)
    assert "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL" not in os.environ
