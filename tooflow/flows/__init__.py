"""Prefect flows: the per-notice DAG and its sub-flows."""
