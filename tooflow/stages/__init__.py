"""The follow-up stages after the gate, as plain functions over the database.

Each stage reads rows by id, calls the library that does the work
(:mod:`tooflow.notify`, :mod:`tooflow.planning`, :mod:`tooflow.facilities`,
:mod:`tooflow.circulars`), stores the result and returns ids or a small
summary. The Prefect tasks in :mod:`tooflow.tasks` are one-line wrappers.
"""
