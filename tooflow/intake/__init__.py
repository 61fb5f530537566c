"""Intake: every notice in, stored once, handed to Prefect.

* :mod:`.listeners` — Kafka (hop, GCN, igwn-alert) and VOEvent TCP sources, one loop;
* :mod:`.store` — store the raw notice once (sha256), committed before anything else;
* :mod:`.trigger` — start ``handle-notice`` for a stored notice; the reconciler;
* :mod:`.rerun` — run ``handle-notice`` again for an event (``tooflow rerun``).
"""
