"""``tooflow send FILE... --topic T [--server URL]``: publish notice files to a Kafka topic.

For fire drills and tests, like ``igwn-alert send`` and ``hop publish``: each
file's bytes become one message, unchanged. Credentials come from hop's
auth.toml (``hop auth add``) unless ``--no-auth``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_parser", "send_files"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("send", help="publish notice files to a Kafka topic (fire drills)",
                       description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="notice files")
    p.add_argument("-t", "--topic", required=True, help="topic, e.g. igwn.gwalert")
    p.add_argument("-s", "--server", default="kafka://localhost:9092/",
                   help="broker URL kafka://host[:port]/ (default: %(default)s)")
    p.add_argument("-g", "--group", help="igwn-alert group: publish to GROUP.TOPIC")
    p.add_argument("--no-auth", action="store_true", help="broker without authentication")
    p.add_argument("--auth", metavar="AUTH_TOML", help="hop auth.toml to use")
    p.set_defaults(func=_send)


def send_files(files: list[Path], topic: str, server: str, *, auth: bool | str = True,
               timeout: float = 30.0) -> int:
    """Publish each file as one message to ``topic``; return how many were delivered.

    Parameters
    ----------
    files : list of Path
        Notice files; their bytes are sent unchanged.
    topic : str
        Kafka topic.
    server : str
        ``kafka://host[:port]/`` (a topic in the URL path is ignored).
    auth : bool or str
        True: hop's auth.toml; False: none; a path: that auth.toml.
    timeout : float
        Seconds to wait for the broker to acknowledge everything.
    """
    import confluent_kafka

    from ..intake.listeners.hop import hop_auth_config
    from ..intake.listeners.kafka import parse_kafka_url

    servers, _ = parse_kafka_url(server)
    payloads = [Path(f).read_bytes() for f in files]
    largest = max((len(p) for p in payloads), default=0)
    config = {"bootstrap.servers": servers, "message.max.bytes": max(1 << 20, largest + 4096),
              "acks": "all", "enable.idempotence": False}
    config.update(hop_auth_config(auth, servers))
    producer = confluent_kafka.Producer(config)
    delivered, errors = [], []

    def _report(err, msg):
        (errors if err else delivered).append(err or msg.offset())

    for payload in payloads:
        producer.produce(topic, payload, on_delivery=_report)
        producer.poll(0)
    left = producer.flush(timeout)
    if errors or left:
        raise RuntimeError(f"{len(errors) + left} of {len(payloads)} message(s) not delivered "
                           f"to {topic}: {errors[0] if errors else 'timeout'}")
    return len(delivered)


def _send(args: argparse.Namespace) -> int:
    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"no such file: {', '.join(missing)}")
    topic = f"{args.group}.{args.topic}" if args.group else args.topic
    auth = False if args.no_auth else (args.auth or True)
    n = send_files(args.files, topic, args.server, auth=auth)
    print(f"published {n} message(s) to {topic}")
    return 0
