"""Prefect flows: the per-notice DAG and its sub-flows."""

from ..guards.text import install_log_redaction

# A worker imports the flows without the CLI: its log records are redacted too.
install_log_redaction()
