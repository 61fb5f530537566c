"""NASA GCN Kafka listener (gcn-kafka): JSON notices and classic VOEvent topics.

Configuration (``listeners: gcn:``)::

    gcn:
      topics:
        - gcn.notices.einstein_probe.wxt.alert
        - gcn.classic.voevent.FERMI_GBM_FLT_POS
      group_id: tooflow-mygroup   # fixed consumer group
      domain: gcn.nasa.gov        # or test.gcn.nasa.gov
      start_at: latest
      kafka: {}                   # extra librdkafka settings (e.g. bootstrap.servers)
      no_auth: false              # true only for a local test broker

The client id and secret come from the environment, as gcn.nasa.gov hands them
out: ``TOOFLOW_GCN_CLIENT_ID`` and ``TOOFLOW_GCN_CLIENT_SECRET`` (never from the
YAML file, never logged).
"""

from __future__ import annotations

import functools
import os
from typing import Any

from .errors import ListenerConfigError, MissingCredentials
from .kafka import KafkaSource, base_consumer_config

__all__ = ["CLIENT_ID_VAR", "CLIENT_SECRET_VAR", "gcn_source"]

CLIENT_ID_VAR = "TOOFLOW_GCN_CLIENT_ID"
CLIENT_SECRET_VAR = "TOOFLOW_GCN_CLIENT_SECRET"


def gcn_source(conf: dict[str, Any], environ: dict[str, str] | None = None) -> KafkaSource:
    """Build the GCN listener's :class:`~tooflow.intake.listeners.kafka.KafkaSource`.

    Raises
    ------
    MissingCredentials
        ``TOOFLOW_GCN_CLIENT_ID`` / ``TOOFLOW_GCN_CLIENT_SECRET`` are not set.
    """
    import gcn_kafka

    env = os.environ if environ is None else environ
    topics = list(conf.get("topics") or [])
    if not topics:
        raise ListenerConfigError("gcn: list the `topics` to listen to "
                                  "(see https://gcn.nasa.gov/quickstart)")
    group_id = conf.get("group_id")
    if not group_id:
        raise ListenerConfigError("gcn: set `group_id` (a fixed consumer group)")
    config = base_consumer_config(group_id, start_at=conf.get("start_at", "latest"),
                                  extra=conf.get("kafka"))
    client_id = client_secret = None
    if not conf.get("no_auth"):
        client_id, client_secret = env.get(CLIENT_ID_VAR), env.get(CLIENT_SECRET_VAR)
        if not client_id or not client_secret:
            raise MissingCredentials(
                f"gcn: set {CLIENT_ID_VAR} and {CLIENT_SECRET_VAR} in the environment "
                "(client credentials from https://gcn.nasa.gov/quickstart)")
    else:
        config.setdefault("security.protocol", "plaintext")
    factory = functools.partial(gcn_kafka.Consumer, client_id=client_id,
                                client_secret=client_secret, domain=conf.get("domain"))
    return KafkaSource("gcn", config, topics, batch_size=int(conf.get("batch_size", 100)),
                       consumer_factory=factory)
