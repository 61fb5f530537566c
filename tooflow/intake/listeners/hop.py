"""SCiMMA Hopskotch listener (hop-client): ``igwn.gwalert`` Avro notices, SNEWS topics.

Configuration (``listeners: hop:`` in tooflow.yaml), named as in hop-client::

    hop:
      url: kafka://kafka.scimma.org/igwn.gwalert,snews.alert   # as for `hop subscribe`
      group_id: tooflow-mygroup   # fixed consumer group: a restart resumes where it stopped
      auth: true                  # hop's auth.toml (`hop auth add`); false = `--no-auth`;
                                  # or the path of another auth.toml
      start_at: latest            # where a *new* group starts: latest or earliest
      kafka: {}                   # extra librdkafka settings

Credentials are hop's own: ``~/.config/hop/auth.toml`` written by ``hop auth add``
(or ``$HOP_CONFIG_DIR``), matched to the broker host like ``hop subscribe`` does.
"""

from __future__ import annotations

from typing import Any

from .errors import ListenerConfigError, MissingCredentials
from .kafka import KafkaSource, base_consumer_config, parse_kafka_url

__all__ = ["DEFAULT_URL", "hop_auth_config", "hop_source"]

DEFAULT_URL = "kafka://kafka.scimma.org/igwn.gwalert"


def hop_auth_config(auth: bool | str, servers: str,
                    username: str | None = None) -> dict[str, Any]:
    """librdkafka SASL settings from hop's ``auth.toml`` for the first broker in ``servers``.

    Raises
    ------
    MissingCredentials
        No ``auth.toml`` or no credential in it for that host.
    """
    if auth is False:
        return {}
    from hop.auth import load_auth, select_matching_auth
    from hop.configure import get_config_path

    path = auth if isinstance(auth, str) else None
    where = path or get_config_path("auth")
    host = servers.split(",")[0]
    try:
        creds = load_auth(path)
        chosen = select_matching_auth(creds, host, username)
    except FileNotFoundError:
        raise MissingCredentials(
            f"hop: no credentials file {where}; run `hop auth add` (SCiMMA credentials "
            "from https://my.hop.scimma.org) or set `auth: false` for a broker without "
            "authentication") from None
    except (RuntimeError, KeyError) as exc:
        raise MissingCredentials(f"hop: no usable credential for {host} in {where}: {exc}; "
                                 "run `hop auth add`") from None
    return dict(chosen())


def hop_source(conf: dict[str, Any], *, name: str = "hop",
               start_at: str = "latest") -> KafkaSource:
    """Build a hop-authenticated :class:`~.kafka.KafkaSource` from its config.

    ``name`` labels the source (``hop`` for the listener, ``snews`` for the
    coincidence service); ``start_at`` is the default of ``conf['start_at']``.
    """
    url = conf.get("url", DEFAULT_URL)
    servers, topics = parse_kafka_url(url)
    if not topics:
        raise ListenerConfigError(f"{name}: the url {url!r} names no topic")
    group_id = conf.get("group_id")
    if not group_id:
        raise ListenerConfigError(f"{name}: set `group_id` (a fixed consumer group, so that "
                                  "a restart resumes at the committed offset)")
    config = base_consumer_config(group_id, start_at=conf.get("start_at", start_at),
                                  extra=conf.get("kafka"))
    config["bootstrap.servers"] = servers
    config.update(hop_auth_config(conf.get("auth", True), servers, conf.get("username")))
    return KafkaSource(name, config, topics, batch_size=int(conf.get("batch_size", 100)))
