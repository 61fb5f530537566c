"""The embedded default's local services: nothing to install or start by hand.

* :mod:`.prefect_server` — the local Prefect server, started once and reused by every command;
* :mod:`.runner` — tooflow's deployments served on it (``prefect.serve``);
* :mod:`.processes` — long-lived helper processes started once (free port, state file, health).
"""
