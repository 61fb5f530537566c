"""The embedded default as a new user runs it: the ``tooflow`` command, no PREFECT_API_URL.

One local Prefect server (started by the commands themselves, on a port other
than 4200, which is held busy) serves the module. Every wait is on a condition;
deadlines only bound a hang.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
import yaml
from sqlmodel import Session, create_engine, select

from tests import kafka_fixtures
from tests.kafka_fixtures import consumer_settings
from tests.waiting import HANG, wait_for
from tooflow.cli import main as tooflow_main
from tooflow.intake.store import store_notice
from tooflow.models import CircularDraft, Event, Notice, NoticeStatus, QueueRequestRow
from tooflow.stages.parse import parse_stored_notice

from .conftest import listener_notice

kafka_broker = kafka_fixtures.kafka_broker
ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"
LISTENERS = DATA / "listeners"
TOOFLOW = str(Path(sys.executable).with_name("tooflow"))
GBM = "Fermi-GBM-537755817"  # GRB 180116A; its flow ends after the gate (no program plans)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """A TOOFLOW_HOME whose local Prefect server had to avoid a busy port 4200."""
    home = tmp_path_factory.mktemp("embedded") / "home"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PREFECT_", "TOOFLOW_"))}
    env.update(TOOFLOW_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    busy = socket.socket()
    try:
        busy.bind(("127.0.0.1", 4200))
        busy.listen()
    except OSError:  # already busy (another server): just as good
        busy.close()
        busy = None
    try:
        out = subprocess.run([TOOFLOW, "server", "start"], env=env, cwd=ROOT, text=True,
                             capture_output=True, timeout=HANG)
        assert out.returncode == 0, out.stdout + out.stderr
        state = json.loads((home / "prefect" / "service.json").read_text())
        yield {"home": home, "env": env, "url": state["url"], "port": state["port"],
               "db": f"sqlite:///{home / 'tooflow.sqlite'}"}
    finally:
        subprocess.run([TOOFLOW, "server", "stop"], env=env, cwd=ROOT, timeout=HANG)
        if busy is not None:
            busy.close()


def tooflow(embedded, *args, timeout: float = HANG) -> subprocess.CompletedProcess:
    return subprocess.run([TOOFLOW, *args], env=embedded["env"], cwd=ROOT, text=True,
                          capture_output=True, timeout=timeout)


def flow_run(url: str, run_id: str):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}):
        with get_client(sync_client=True) as client:
            return client.read_flow_run(uuid.UUID(run_id))


def notices(embedded) -> list[Notice]:
    """The notices stored so far: none while no command has created (or finished migrating)
    the database — run alone, the listener under test creates it."""
    from sqlalchemy.exc import OperationalError

    engine = create_engine(embedded["db"])
    try:
        with Session(engine) as session:
            return list(session.exec(select(Notice).order_by(Notice.id)))
    except OperationalError:  # no such table / column yet
        return []
    finally:
        engine.dispose()


def test_local_server_on_another_port_tells_its_ui_that_port(embedded):
    assert embedded["port"] != 4200
    ui = httpx.get(f"http://127.0.0.1:{embedded['port']}/ui-settings", timeout=30).json()
    assert ui["api_url"] == embedded["url"] == f"http://127.0.0.1:{embedded['port']}/api"
    status = tooflow(embedded, "server", "status")
    assert status.returncode == 0, status.stdout
    assert f"UI http://127.0.0.1:{embedded['port']}\n" in status.stdout


def test_reconcile_and_rerun_run_the_flow_here_when_nothing_serves_it(embedded):
    stored = tooflow(embedded, "ingest", "--no-flow",
                     str(LISTENERS / "GRB180116A_Fermi_GBM_Alert.xml"),
                     str(LISTENERS / "GRB180116A_Fermi_GBM_Flt_Pos.xml"))
    assert stored.returncode == 0, stored.stderr

    out = tooflow(embedded, "reconcile")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ran 2 notice(s); 0 still pending" in out.stdout
    assert "ObjectNotFound" not in out.stdout + out.stderr
    links = re.findall(r"finished in [\d.]+ s: (\S+)", out.stdout)
    assert len(links) == 2 and all(
        link.startswith(f"http://127.0.0.1:{embedded['port']}/flow-runs/flow-run/")
        for link in links), out.stdout
    assert {n.status for n in notices(embedded)} <= {"parsed", "gated", "done", "rejected"}

    out = tooflow(embedded, "rerun", GBM)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"{GBM}: notice #2 → handle-notice in this process" in out.stdout
    link = re.search(r"finished in [\d.]+ s: \S+/flow-run/(\S+)", out.stdout).group(1)
    assert flow_run(embedded["url"], link).state.is_completed()


def test_rerun_and_reconcile_use_the_served_deployment(embedded):
    serve = subprocess.Popen([TOOFLOW, "server", "serve"], env=embedded["env"], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def served():
            from prefect.settings import PREFECT_API_URL, temporary_settings

            from tooflow.embedded.runner import deployment_is_served

            assert serve.poll() is None, serve.stdout.read()
            with temporary_settings(updates={PREFECT_API_URL: embedded["url"]}):
                return deployment_is_served("handle-notice/handle-notice")

        wait_for(served, "handle-notice served")

        def schedule(name: str):
            from prefect.client.orchestration import get_client
            from prefect.settings import PREFECT_API_URL, temporary_settings

            with temporary_settings(updates={PREFECT_API_URL: embedded["url"]}), \
                    get_client(sync_client=True) as client:
                deployment = client.read_deployment_by_name(name)
            limit = deployment.global_concurrency_limit
            options = deployment.concurrency_options
            return ((limit.limit if limit else None),
                    (str(options.collision_strategy.value) if options else None),
                    [s.schedule.interval.total_seconds() for s in deployment.schedules])

        # Refused requests are sent again on a schedule on the embedded default too,
        # and the event monitors are polled on theirs, one run at a time.
        assert wait_for(lambda: schedule("resubmit-unsent/resubmit-unsent"),
                        "resubmit-unsent served")[2] == [300.0]
        assert schedule("monitor-events/monitor-events") == (1, "CANCEL_NEW", [300.0])
        stored = tooflow(embedded, "ingest", "--no-flow",
                         str(LISTENERS / "GRB180116A_Fermi_GBM_Gnd_Pos.xml"))
        assert stored.returncode == 0, stored.stderr
        out = tooflow(embedded, "reconcile")
        assert out.returncode == 0 and "triggered 1 notice(s); 0 still pending" in out.stdout, (
            out.stdout + out.stderr)
        notice = notices(embedded)[-1]
        assert notice.flow_run_id
        wait_for(lambda: flow_run(embedded["url"], notice.flow_run_id).state.is_final(),
                 "the served run finished")
        assert flow_run(embedded["url"], notice.flow_run_id).state.is_completed()

        out = tooflow(embedded, "rerun", GBM)
        assert out.returncode == 0, out.stdout + out.stderr
        run_id = re.fullmatch(rf"{GBM}: notice #\d+ → flow run (\S+)\n", out.stdout).group(1)
        wait_for(lambda: flow_run(embedded["url"], run_id).state.is_final(),
                 "the served rerun finished")
        run = flow_run(embedded["url"], run_id)
        assert run.state.is_completed() and "rerun" in run.tags
    finally:
        serve.send_signal(signal.SIGINT)  # Ctrl-C
        serve.communicate(timeout=HANG)
    assert serve.returncode is not None


def test_listen_without_prefect_api_url_runs_the_flows_on_the_local_server(embedded,
                                                                             kafka_broker):
    topic = kafka_broker.create_topic()
    kafka_broker.produce(topic, [listener_notice("GRB180116A_Fermi_GBM_Fin_Pos.xml").read_bytes()])
    config = embedded["home"] / "listen.yaml"
    config.write_text(yaml.safe_dump({"listeners": {
        "hop": {"url": kafka_broker.url + topic, "group_id": "tooflow-embedded", "auth": False,
                "start_at": "earliest", "kafka": consumer_settings()},
        "status_interval": 0.5, "reconcile_interval": 2}}))
    before = len(notices(embedded))
    proc = subprocess.Popen([TOOFLOW, "listen", "--config", str(config)], env=embedded["env"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        def ran():
            assert proc.poll() is None
            new = notices(embedded)[before:]
            # its flow run exists (the listener's first light parses and gates it first,
            # in the listener, before the notice is triggered)
            return new and new[0].flow_run_id and new[0].status not in (
                NoticeStatus.received.value, NoticeStatus.triggered.value) and new[0]

        notice = wait_for(ran, "the listened notice's flow ran")
        assert notice.flow_run_id
        wait_for(lambda: flow_run(embedded["url"], notice.flow_run_id).state.is_final(),
                 "its flow run finished")
        assert flow_run(embedded["url"], notice.flow_run_id).state.is_completed()
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=HANG)[0].decode()
    assert proc.returncode == 0, out
    assert "ObjectNotFound" not in out and "temporary server" not in out.lower(), out
    runner_pid = int(re.search(r"serving handle-notice\S*.* \(pid (\d+)", out).group(1))
    with pytest.raises(ProcessLookupError):
        os.kill(runner_pid, 0)


@pytest.mark.slow  # tooflow listen, its runner and two served flow runs
def test_listen_owns_one_simulator_for_its_first_light_and_every_run(embedded, kafka_broker):
    """A later notice's run reaches the requests an earlier run queued (issue: one
    simulator per flow-run process knew only its own), and the listener's first light
    runs on the embedded default, into the same queue.

    MS181101ab's preliminary notice is planned and queued, then its retraction's run
    cancels what the event queued: every request must get the state of the simulator
    holding it. At real speed, nothing runs before the retraction by day; by night
    an exposure may have started or ended — any state a simulator gave is accepted,
    never ``unknown`` (a simulator that never saw the request).
    """
    topic = kafka_broker.create_topic()
    config = embedded["home"] / "listen-one-simulator.yaml"
    config.write_text(yaml.safe_dump({
        "listeners": {"hop": {"url": kafka_broker.url + topic, "group_id": "tooflow-one-sim",
                              "auth": False, "start_at": "earliest",
                              "kafka": consumer_settings()},
                      "status_interval": 0.5, "reconcile_interval": 2},
        "facilities": {"simulator": {"speedup": 1, "weather_loss": 0}},
        "monitor": {"max_wall_seconds": 0}}))
    avro = DATA / "lvk" / "avro"
    assert tooflow(embedded, "db", "create").returncode == 0  # when run alone
    before = len(notices(embedded))
    proc = subprocess.Popen([TOOFLOW, "listen", "--config", str(config)], env=embedded["env"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def handled(n: int) -> Notice:
        def ran():
            assert proc.poll() is None
            new = notices(embedded)[before:]
            notice = new[n] if len(new) > n else None
            return (notice is not None and notice.flow_run_id
                    and flow_run(embedded["url"], notice.flow_run_id).state.is_final()
                    and notice)

        return wait_for(ran, f"notice {n + 1} of the test handled by its served run")

    try:
        kafka_broker.produce(topic, [(avro / "MS181101ab-preliminary.avro").read_bytes()])
        first = handled(0)
        kafka_broker.produce(topic, [(avro / "MS181101ab-retraction.avro").read_bytes()])
        second = handled(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=HANG)[0].decode()
    assert proc.returncode == 0, out
    assert first.flow_run_id != second.flow_run_id
    engine = create_engine(embedded["db"])
    try:
        with Session(engine) as session:
            event = session.exec(select(Event).where(Event.event_id == "MS181101ab")).one()
            rows = session.exec(select(QueueRequestRow)
                                .where(QueueRequestRow.event_pk == event.id)).all()
    finally:
        engine.dispose()
    states = Counter((r.status, r.detail.split(" at ")[0]) for r in rows)
    assert rows and all(r.status in ("cancelled", "executing", "completed", "failed")
                        for r in rows), (states, out)
    # The listener's first light took the embedded default (before: left to the flow,
    # the notice not even parsed, first_light empty): parsed, gated, planned here; what
    # the first block holds depends on the time of day (the fast test queues it).
    record = first.first_light or {}
    assert record.get("by") == "listener" and record.get("seconds"), (record, out)
    assert record.get("plans") or "nothing to queue early" in record["skipped"], (record, out)
    assert "telescope simulator serving at" in out, out


def test_missing_deployment_in_production_says_how_to_create_it(prefect, sqlite_engine,
                                                                 monkeypatch, capsys):
    from prefect.settings import PREFECT_API_URL

    nid = store_notice((LISTENERS / "GRB180116A_Fermi_GBM_Alert.xml").read_bytes(), "f",
                       engine=sqlite_engine).notice_id
    parse_stored_notice(nid, engine=sqlite_engine)
    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())
    assert tooflow_main(["rerun", GBM, "--deployment", "handle-notice/not-deployed"]) == 1
    err = capsys.readouterr().err
    assert "no deployment handle-notice/not-deployed on the Prefect server at" in err
    assert "`prefect deploy --all`" in err and "ObjectNotFound: None" not in err


@pytest.mark.slow  # a tooflow subprocess
def test_closed_pipe_ends_quietly(sqlite_engine):
    stored = store_notice((DATA / "lvk" / "avro" / "MS181101ab-retraction.avro").read_bytes(),
                          "f", engine=sqlite_engine)
    parse_stored_notice(stored.notice_id, engine=sqlite_engine)
    with Session(sqlite_engine) as session:
        event = session.exec(select(Event).where(Event.event_id == "MS181101ab")).one()
        # longer than any pipe buffer, so the writer meets the closed pipe
        body = "\n".join(f"line {i}: " + "x" * 70 for i in range(4000))
        session.add(CircularDraft(event_pk=event.id, program="GW kilonova search",
                                  subject="MS181101ab: test of the pipe", body=body))
        session.commit()
    proc = subprocess.Popen([TOOFLOW, "circular", "MS181101ab"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline().startswith(b"SUBJECT: MS181101ab")  # as `| head -1`
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=HANG) == 0 and err == "", err
