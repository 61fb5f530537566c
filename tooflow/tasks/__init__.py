"""Prefect tasks: thin wrappers that call tested plain functions and store results."""
