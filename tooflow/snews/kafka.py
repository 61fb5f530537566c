"""Kafka transport of the coincidence service: the observation topic in, the alert topic out.

Configuration (``coincidence:`` in tooflow.yaml), named as in hop-client and the
listeners::

    coincidence:
      url: kafka://kafka.scimma.org/snews.experiments-firedrill  # detector messages
      alert_url: kafka://kafka.scimma.org/snews.alert-firedrill  # alerts (optional)
      group_id: tooflow-snews   # fixed consumer group: a restart resumes where it stopped
      auth: true                # hop's auth.toml; false for a broker without authentication
      start_at: earliest        # where a *new* group starts
      kafka: {}                 # extra librdkafka settings (consumer and producer)

Alerts are written as plain JSON with hop's ``_format: json`` header, so
``snews_pt subscribe`` (hop-client) reads them as it reads ``snews_cs`` alerts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..intake.listeners.errors import ListenerConfigError
from ..intake.listeners.hop import hop_auth_config, hop_source
from ..intake.listeners.kafka import KafkaSource, parse_kafka_url

__all__ = ["alert_publisher", "observation_source"]


def observation_source(conf: dict[str, Any]) -> KafkaSource:
    """The consumer of the observation topic(s) named by ``conf['url']``.

    Raises
    ------
    ListenerConfigError
        No URL, no topic or no ``group_id``.
    MissingCredentials
        ``auth`` is on and hop has no credential for the broker.
    """
    url = conf.get("url")
    if not url:
        raise ListenerConfigError("coincidence: set `url` (kafka://host/topic of the "
                                  "detector messages)")
    return hop_source(conf, name="snews", start_at="earliest")


def alert_publisher(conf: dict[str, Any], *, timeout: float = 10.0) -> Callable[[bytes], None]:
    """``publish(alert_bytes)`` writing to ``conf['alert_url']``; raises if not acknowledged."""
    import confluent_kafka

    servers, topics = parse_kafka_url(conf["alert_url"])
    if len(topics) != 1:
        raise ListenerConfigError(f"coincidence: alert_url must name one topic, "
                                  f"got {conf['alert_url']!r}")
    settings: dict[str, Any] = {"bootstrap.servers": servers, "enable.idempotence": False}
    settings.update(hop_auth_config(conf.get("auth", True), servers, conf.get("username")))
    settings.update({k: v for k, v in (conf.get("kafka") or {}).items()
                     if not k.startswith(("session.", "heartbeat.", "group.", "auto.",
                                          "enable.auto", "fetch.", "enable.partition"))})
    producer = confluent_kafka.Producer(settings)
    topic = topics[0]

    def publish(payload: bytes) -> None:
        errors: list[Any] = []
        producer.produce(topic, payload, headers=[("_format", b"json")],
                         on_delivery=lambda err, _msg: errors.append(err))
        if producer.flush(timeout) or not errors or errors[0] is not None:
            raise RuntimeError(f"alert not acknowledged by {servers}/{topic}: "
                               f"{errors[0] if errors else 'timeout'}")

    return publish
