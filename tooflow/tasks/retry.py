"""Retry policy for tasks: retry what a retry can fix (I/O), nothing else."""

from __future__ import annotations

__all__ = ["retry_on_io", "retry_on_io_or_unreachable", "is_transient"]

_TRANSIENT_NAMES = {
    "OperationalError",  # sqlalchemy: database restarting, connection dropped
    "InterfaceError",
    "ConnectError", "ConnectTimeout", "ReadTimeout", "WriteTimeout", "PoolTimeout",
    "RemoteProtocolError",  # httpx
    "ConnectionError", "TimeoutError", "ConnectionResetError", "BrokenPipeError",
}


#: A task past its own time budget is not retried: the retry would only double the wait.
_NEVER = {"TaskRunTimeoutError", "FlowRunTimeoutError"}


def is_transient(exc: BaseException) -> bool:
    """Whether an exception is a transient I/O failure worth retrying."""
    if any(cls.__name__ in _NEVER for cls in type(exc).__mro__):
        return False
    return any(cls.__name__ in _TRANSIENT_NAMES for cls in type(exc).__mro__)


def retry_on_io(task, task_run, state) -> bool:
    """Prefect ``retry_condition_fn``: retry only transient I/O failures.

    A corrupt notice or a bug fails at once; a dropped database connection or an
    HTTP timeout is retried.
    """
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - we only classify it
        return is_transient(exc)
    return False


def retry_on_io_or_unreachable(task, task_run, state) -> bool:
    """``retry_condition_fn`` of submissions: transient I/O, or a queue not reached.

    :class:`~tooflow.stages.submit.SubmissionFailed` says ``transient`` when every
    failing queue was unreachable (connection refused, timeouts): worth another
    try; a queue that refused the requests is not asked again by a retry.
    """
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - we only classify it
        return is_transient(exc) or bool(getattr(exc, "transient", False))
    return False
