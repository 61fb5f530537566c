"""A Kafka source with explicit offset commits, shared by the hop, GCN and igwn-alert listeners.

Each of those clients (hop-client, gcn-kafka, igwn-alert) builds a librdkafka
configuration its own way (SASL/SCRAM from ``auth.toml``, OIDC client
credentials, netrc); the listeners reuse that and then consume with
``enable.auto.commit = false``, committing each offset synchronously *after*
the notice is in the database. The clients' own loops commit on a timer or
before the callback returns, which would lose a notice on a crash.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

import confluent_kafka

from ...guards.log_repeats import limit_repeats
from .loop import Message

__all__ = ["KafkaSource", "base_consumer_config", "kafka_message", "kafka_timestamp",
           "parse_kafka_url"]

log = logging.getLogger(__name__)
#: Where librdkafka's own log lines go (rate-limited: see :mod:`tooflow.guards.log_repeats`).
LIBRDKAFKA_LOG = logging.getLogger("tooflow.intake.listeners.librdkafka")
limit_repeats(log, LIBRDKAFKA_LOG)


def parse_kafka_url(url: str) -> tuple[str, list[str]]:
    """Split a hop-style URL ``kafka://host[:port][,host2...]/topic1,topic2``.

    Returns
    -------
    (str, list of str)
        ``bootstrap.servers`` (default port 9092) and the topics.
    """
    if not url.startswith("kafka://"):
        raise ValueError(f"not a kafka:// URL: {url!r}")
    rest = url.removeprefix("kafka://")
    hosts, _, topics = rest.partition("/")
    servers = ",".join(h if ":" in h else f"{h}:9092" for h in hosts.split(",") if h)
    return servers, [t for t in topics.split(",") if t]


def base_consumer_config(group_id: str, *, start_at: str = "latest",
                         extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """librdkafka consumer settings common to every tooflow Kafka listener.

    Parameters
    ----------
    group_id : str
        Consumer group: keep it fixed so that a restart resumes at the committed offset.
    start_at : str
        ``earliest`` or ``latest``: where a *new* consumer group starts.
    extra : mapping, optional
        librdkafka settings that override these (e.g. ``session.timeout.ms``).
    """
    config: dict[str, Any] = {
        "group.id": group_id,
        "enable.auto.commit": False,
        "auto.offset.reset": start_at,
        "enable.partition.eof": False,
        # a 50 MB notice must not wedge the partition: fetch it, store it as rejected
        "fetch.max.bytes": 64 << 20,
        "receive.message.max.bytes": 80 << 20,
        # librdkafka prefetches up to 64 MB by default (kept by the allocator once
        # touched): 16 MB of notices is hundreds of them, plenty to keep up
        "queued.max.messages.kbytes": 16 << 10,
    }
    config.update(extra or {})
    return config


def kafka_timestamp(msg: Any) -> dt.datetime | None:
    """The message's Kafka timestamp as UTC, or None when absent or unrepresentable.

    The timestamp is the producer's (CreateTime) or the broker's (LogAppendTime)
    and is only bookkeeping here: a value Python cannot hold (year 11476, a
    negative time) is dropped with a warning, never allowed to fail the message.
    """
    try:
        ts_type, ts_ms = msg.timestamp()
        if ts_type == confluent_kafka.TIMESTAMP_NOT_AVAILABLE or ts_ms <= 0:
            return None
        return dt.datetime.fromtimestamp(ts_ms / 1000, dt.UTC)
    except (ValueError, OverflowError, OSError, TypeError) as exc:
        log.warning("%s[%s]@%s: Kafka timestamp %r ignored: %s", msg.topic(),
                    msg.partition(), msg.offset(), msg.timestamp(), exc)
        return None


def kafka_message(msg: Any, source: str) -> Message:
    """A :class:`Message` from a confluent-kafka message; never raises.

    Only the value is the notice; the key, the headers and the timestamp are
    not read beyond :func:`kafka_timestamp`, so none of them can cost the
    message. A value that cannot be read at all becomes an empty payload with
    the reason in ``Message.problem`` (stored as a rejected notice).
    """
    problem = None
    try:
        value = msg.value()
        payload = b"" if value is None else bytes(value)
    except Exception as exc:  # noqa: BLE001 - recorded on the notice
        payload, problem = b"", f"{source}: message value unreadable: {exc}"
    return Message(payload=payload, topic=msg.topic(), partition=msg.partition(),
                   offset=msg.offset(), timestamp=kafka_timestamp(msg), raw=msg,
                   problem=problem)


class KafkaSource:
    """Consume ``topics`` with ``config``; commit only what :meth:`commit` is given.

    Parameters
    ----------
    name : str
        Source name (``hop``, ``gcn``, ``igwn``).
    config : dict
        Complete librdkafka consumer configuration.
    topics : list of str
        Topics to subscribe to.
    batch_size : int
        Messages fetched per poll (igwn-alert's ``batch_size``).
    batch_timeout : float, optional
        Seconds to wait to gather a full batch (igwn-alert's ``batch_timeout``); default:
        no waiting: the first message is handed over at once with those already buffered.
    consumer_factory : callable, optional
        Builds the consumer from ``config`` (default :class:`confluent_kafka.Consumer`;
        the GCN listener passes :class:`gcn_kafka.Consumer`).
    """

    def __init__(self, name: str, config: dict[str, Any], topics: list[str], *,
                 batch_size: int = 100, batch_timeout: float | None = None,
                 consumer_factory=confluent_kafka.Consumer):
        if not topics:
            raise ValueError(f"{name}: no topics to listen to")
        self.name = name
        self.topics = list(topics)
        self.batch_size = max(1, int(batch_size))
        self.batch_timeout = batch_timeout
        self._fatal = None
        self._errors: list[str] = []
        # librdkafka's own log and errors go through Python logging, where identical
        # lines (a refused password, every few ms) are counted, not repeated.
        config = {"error_cb": self._on_error, "logger": LIBRDKAFKA_LOG, **config}
        self._consumer = consumer_factory(config)
        self._consumer.subscribe(self.topics)

    def _on_error(self, err: Any) -> None:
        self._errors = [*self._errors[-9:], str(err)]
        log.error("%s: Kafka error: %s", self.name, err)

    def check(self, timeout: float = 10.0) -> str:
        """Connect for real: authenticate and read the topics' metadata.

        Returns
        -------
        str
            What was checked (brokers and partitions per topic).

        Raises
        ------
        RuntimeError
            When the broker cannot be reached, refuses the credentials, or a
            topic does not exist or may not be read; the message says which.
        """
        try:
            meta = self._consumer.list_topics(timeout=timeout)
        except confluent_kafka.KafkaException as exc:
            said = "; ".join(dict.fromkeys(self._errors)) or str(exc)
            raise RuntimeError(f"{self.name}: cannot read the broker's metadata within "
                               f"{timeout:g} s: {said}") from exc
        if self._errors and not meta.brokers:
            raise RuntimeError(f"{self.name}: {'; '.join(dict.fromkeys(self._errors))}")
        problems, parts = [], []
        for topic in self.topics:
            info = meta.topics.get(topic)
            if info is None:
                problems.append(f"topic {topic} does not exist")
            elif info.error is not None:
                problems.append(f"topic {topic}: {info.error}")
            else:
                parts.append(f"{topic} ({len(info.partitions)} partition(s))")
        if problems:
            raise RuntimeError(f"{self.name}: " + "; ".join(problems))
        return f"{len(meta.brokers)} broker(s); " + ", ".join(parts)

    def poll(self, timeout: float) -> list[Message]:
        if self._fatal is not None:
            err, self._fatal = self._fatal, None
            raise RuntimeError(f"{self.name}: fatal Kafka error: {err}")
        out: list[Message] = []
        if self.batch_timeout is not None:  # igwn-alert semantics: gather up to a full batch
            raw = self._consumer.consume(num_messages=self.batch_size,
                                         timeout=self.batch_timeout)
        else:  # hand over the first message at once, with whatever is already buffered
            first = self._consumer.poll(timeout)
            raw = [] if first is None else [first] + (
                self._consumer.consume(num_messages=self.batch_size - 1, timeout=0)
                if self.batch_size > 1 else [])
        for msg in raw:
            err = msg.error()
            if err is not None:
                if err.fatal():
                    if out:  # hand over what came before it; the next poll raises
                        self._fatal = err
                        break
                    raise RuntimeError(f"{self.name}: fatal Kafka error: {err}")
                log.warning("%s: %s", self.name, err)
                continue
            out.append(kafka_message(msg, self.name))
        return out

    def commit(self, message: Message) -> None:
        self._consumer.commit(message=message.raw, asynchronous=False)

    def lag(self) -> dict[tuple[str, int], int | None]:
        parts = self._consumer.assignment()
        if not parts:
            return {}
        out: dict[tuple[str, int], int | None] = {}
        for tp in self._consumer.committed(parts, timeout=2.0):
            _low, high = self._consumer.get_watermark_offsets(tp, timeout=2.0, cached=False)
            committed = tp.offset if tp.offset >= 0 else None
            out[(tp.topic, tp.partition)] = (max(0, high - committed)
                                             if committed is not None else None)
        return out

    def close(self) -> None:
        self._consumer.close()
