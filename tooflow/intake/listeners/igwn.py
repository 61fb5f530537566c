"""GraceDB igwn-alert listener: the LVK's own alert topics (``superevent``, ``cbc_gstlal``, ...).

Configuration (``listeners: igwn:``), with the names of the ``igwn-alert`` CLI::

    igwn:
      group: gracedb               # -g: gracedb, gracedb-playground, gracedb-test
      topics: [superevent]         # as for `igwn-alert listen TOPIC...`
      consumer_group: tooflow-me   # -c: fixed, so that a restart resumes
      server: kafka://kafka.scimma.org/   # -s
      port: 9092
      batch_size: 1                # messages per fetch (igwn-alert default 1)
      batch_timeout: 0.2           # seconds to gather a batch (igwn-alert default 0.2)
      username: null               # -u: which credential to use
      netrc: null                  # -n: netrc file (default $NETRC or ~/.netrc)
      authfile: null               # hop auth.toml (default ~/.config/hop/auth.toml)
      no_auth: false               # --no-auth

Credentials are looked up as igwn-alert does: hop's ``auth.toml`` first, then
the netrc entry for the server's host.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .errors import ListenerConfigError, MissingCredentials
from .hop import hop_auth_config
from .kafka import KafkaSource, base_consumer_config

__all__ = ["igwn_auth_config", "igwn_source", "igwn_topics"]

DEFAULT_SERVER = "kafka://kafka.scimma.org/"
DEFAULT_PORT = 9092


def igwn_topics(group: str, topics: list[str]) -> list[str]:
    """Kafka topic names of GraceDB pubsub topics: ``<group>.<topic>``."""
    return [f"{group}.{t}" for t in topics]


def igwn_auth_config(conf: dict[str, Any], host: str, port: int) -> dict[str, Any]:
    """librdkafka SASL settings found the way igwn-alert finds them.

    Raises
    ------
    MissingCredentials
        Neither hop's ``auth.toml`` nor the netrc file has a credential for ``host``.
    """
    if conf.get("no_auth"):
        return {}
    servers = f"{host}:{port}"
    if conf.get("authfile"):
        return hop_auth_config(str(conf["authfile"]), servers, conf.get("username"))
    try:
        return hop_auth_config(True, servers, conf.get("username"))
    except MissingCredentials:
        pass
    from hop.auth import Auth

    netrc_path = Path(conf.get("netrc") or os.environ.get("NETRC") or "~/.netrc").expanduser()
    if netrc_path.is_file():
        import netrc

        try:
            entry = netrc.netrc(str(netrc_path)).authenticators(host)
        except (netrc.NetrcParseError, OSError) as exc:
            raise MissingCredentials(f"igwn: cannot read {netrc_path}: {exc}") from None
        if entry is not None and (not conf.get("username") or entry[0] == conf["username"]):
            return dict(Auth(entry[0], entry[2])())
    raise MissingCredentials(
        f"igwn: no credential for {host}: add one with `hop auth add` or a line "
        f"`machine {host} login USER password PASS` in {netrc_path} (chmod 600), "
        "or set `no_auth: true` for a broker without authentication")


def igwn_source(conf: dict[str, Any]) -> KafkaSource:
    """Build the igwn-alert listener's :class:`~tooflow.intake.listeners.kafka.KafkaSource`."""
    topics = list(conf.get("topics") or [])
    if not topics:
        raise ListenerConfigError("igwn: list the GraceDB `topics` (e.g. [superevent])")
    group_id = conf.get("consumer_group")
    if not group_id:
        raise ListenerConfigError("igwn: set `consumer_group` (a fixed consumer group id)")
    server = urlparse(conf.get("server", DEFAULT_SERVER))
    host = server.hostname or "kafka.scimma.org"
    port = int(conf.get("port") or server.port or DEFAULT_PORT)
    config = base_consumer_config(group_id, start_at=conf.get("start_at", "latest"),
                                  extra=conf.get("kafka"))
    config["bootstrap.servers"] = f"{host}:{port}"
    config.update(igwn_auth_config(conf, host, port))
    return KafkaSource("igwn", config, igwn_topics(conf.get("group", "gracedb"), topics),
                       batch_size=int(conf.get("batch_size", 1)),
                       batch_timeout=float(conf.get("batch_timeout", 0.2)))
