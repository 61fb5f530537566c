"""tooflow's web pages: events, an event's page, plan approval, the circular editor.

``tooflow web serve`` runs :func:`tooflow.web.app.create_app` under uvicorn;
``tooflow web user add`` creates the people who may log in. Nothing here writes
the database behind the plain functions the command line uses
(:mod:`tooflow.approvals`, :mod:`tooflow.circulars.versions`, ...).
"""
