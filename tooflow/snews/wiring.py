"""The SNEWS coincidence service as the ``coincidence:`` configuration describes it.

What ``tooflow coincidence run`` and ``feed`` build (:mod:`tooflow.cli.coincidence`
only parses options): the service, its Kafka alert publisher, its injection of
alerts into the ToO pipeline (:func:`tooflow.intake.trigger.trigger_notice`) and
the duty notifier.
"""

from __future__ import annotations

__all__ = ["build_service"]


def build_service(settings, *, kafka: bool = True, inject: bool = True, trigger=None,
                  rules: str | None = None):
    """The :class:`~tooflow.snews.service.CoincidenceService` the configuration describes.

    Parameters
    ----------
    settings : Settings
        The ``coincidence:`` section (window, lifetime, server_tag, alert_url,
        inject, notify) and the database.
    kafka : bool
        Publish alerts to ``alert_url`` when it is set.
    inject : bool
        Put alerts into the ToO pipeline (unless ``inject: false`` in the section).
    trigger : callable, optional
        ``trigger(notice_id)``; default :func:`tooflow.intake.trigger.trigger_notice`.
    rules : str, optional
        ``tooflow`` or ``snews_cs``; default the section's ``rules`` (else ``tooflow``).
    """
    from ..db import create_schema, get_engine
    from ..intake.trigger import trigger_notice
    from .kafka import alert_publisher
    from .notifications import duty_notifier
    from .service import CoincidenceService

    conf = settings.coincidence
    engine = get_engine(settings)
    create_schema(engine)
    publish = alert_publisher(conf.kafka_conf()) if kafka and conf.alert_url else None
    inject = inject and conf.inject
    if trigger is None and inject:
        def trigger(notice_id: int) -> str:
            return trigger_notice(notice_id, engine=engine)
    return CoincidenceService(
        engine, window=conf.window, lifetime=conf.lifetime, rules=rules or conf.rules,
        server_tag=conf.server_tag, publish=publish, inject=inject,
        trigger=trigger, notify=duty_notifier(settings) if conf.notify else None)
