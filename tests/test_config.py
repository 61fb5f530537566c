"""Settings: defaults, then YAML, then TOOFLOW_* variables; every section typed and
checked when loaded, a bad value named with its key, its value and what is allowed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tooflow.cli import main
from tooflow.config import ConfigError, load_settings

REPO = Path(__file__).resolve().parents[1]

#: The complete example of docs/configuration.md, as shipped.
DOC_EXAMPLE = (REPO / "docs" / "configuration.md").read_text().split(
    "A complete example:\n\n```yaml\n")[1].split("```")[0]


def test_defaults_live_under_home(tooflow_home):
    s = load_settings()
    assert s.home == tooflow_home
    assert s.resolved_database_url == f"sqlite:///{tooflow_home / 'tooflow.sqlite'}"
    assert s.resolved_skymap_dir == tooflow_home / "skymaps"
    assert s.resolved_programs_file.name == "programs.yaml"
    assert s.resolved_programs_file.parent.name == "tooflow"
    assert s.monitor.mode == "inline" and s.monitor.max_wall_seconds is None
    assert s.roster == [] and s.notifications.slack is None
    assert not s.facilities.telescope("ZTF").is_real_queue


def test_yaml_then_environment(tooflow_home, monkeypatch):
    (tooflow_home / "tooflow.yaml").write_text(
        "database_url: postgresql+psycopg2://db.example/tooflow\n"
        "max_notice_bytes: 1000\n"
        "roster:\n  - name: Alice\n    hours: always\n")
    s = load_settings()
    assert s.database_url == "postgresql+psycopg2://db.example/tooflow"
    assert s.max_notice_bytes == 1000
    assert [p.name for p in s.roster] == ["Alice"] and s.roster[0].always
    monkeypatch.setenv("TOOFLOW_MAX_NOTICE_BYTES", "2000")
    monkeypatch.setenv("TOOFLOW_DATABASE_URL", "sqlite:///x.sqlite")
    s = load_settings()
    assert s.max_notice_bytes == 2000
    assert s.database_url == "sqlite:///x.sqlite"


def test_the_simulator_url_variable_sets_that_key_only(tooflow_home, monkeypatch):
    (tooflow_home / "tooflow.yaml").write_text(
        "facilities:\n  simulator: {url: http://sim.example:8765, speedup: 60}\n"
        "  ZTF: {adapter: ZTF, url: https://ztf.example.org}\n")
    assert load_settings().facilities.simulator.url == "http://sim.example:8765"
    monkeypatch.setenv("TOOFLOW_SIMULATOR_URL", "http://127.0.0.1:40123")
    s = load_settings()
    assert s.facilities.simulator.url == "http://127.0.0.1:40123"
    assert s.facilities.simulator.speedup == 60  # the rest of the section as the file says
    assert s.facilities.telescope("ZTF").is_real_queue
    (tooflow_home / "tooflow.yaml").write_text("max_notice_bytes: 1000\n")
    assert load_settings().facilities.simulator.url == "http://127.0.0.1:40123"
    # a bad value is named with the variable it came from, at start
    monkeypatch.setenv("TOOFLOW_SIMULATOR_URL", "127.0.0.1:40123")
    with pytest.raises(ConfigError, match="^TOOFLOW_SIMULATOR_URL: facilities.simulator.url = "
                                          "'127.0.0.1:40123': expected an http"):
        load_settings()


def test_explicit_config_file(tmp_path, monkeypatch):
    cfg = tmp_path / "site.yaml"
    cfg.write_text(f"programs_file: {tmp_path / 'p.yaml'}\n")
    monkeypatch.setenv("TOOFLOW_CONFIG", str(cfg))
    assert load_settings().resolved_programs_file == Path(tmp_path / "p.yaml")


def test_loaded_once_per_content(tooflow_home):
    path = tooflow_home / "tooflow.yaml"
    path.write_text("monitor: {mode: deployment}\n")
    first = load_settings()
    assert load_settings() is first
    path.write_text("monitor: {mode: inline}    \n")
    assert load_settings().monitor.mode == "inline"


def test_the_documented_example_loads_typed(tooflow_home, monkeypatch):
    path = tooflow_home / "tooflow.yaml"
    path.write_text(DOC_EXAMPLE)
    s = load_settings()
    assert s.database_url.startswith("postgresql+psycopg2://")
    assert s.facilities.simulator.speedup == 7200 and s.facilities.simulator.weather_loss == 0.1
    ztf = s.facilities.telescope("ZTF")
    assert ztf.is_real_queue and ztf.adapter == "ZTF"
    assert ztf.facility_config() == {
        "url": "https://ztf-too.example.org", "token_env": "TOOFLOW_ZTF_TOKEN",
        "program": "Caltech", "tap_url": "https://irsa.ipac.caltech.edu/TAP",
        "timeout": 10.0, "deadline": 60.0}
    assert s.facilities.telescope("DECam").facility_config()["extra"] == {"propid": "2019A-0205"}
    assert s.facilities.telescope("DECam").extra.propid == "2019A-0205"  # typed, checked once
    assert not s.facilities.telescope("KPED").is_real_queue
    assert s.monitor.mode == "deployment" and s.monitor.max_wall_seconds == 172800
    assert [(a.name, a.affiliation) for a in s.circulars.authors] == [
        ("A. Astronomer", "Caltech"), ("B. Observer", None)]
    assert s.roster[0].name == "Alice Example" and s.roster[0].channels.slack == "U012ABCDEF"
    assert s.notifications.twilio.from_number == "+15005550006"
    assert s.notifications.deadline == 30
    assert s.listeners.sources()["voevent"]["port"] == 8099
    # the real adapters accept what the section says
    from tooflow.facilities.routing import facility_for

    with facility_for("ZTF", s) as ztf_queue:
        assert ztf_queue.config.deadline == 60 and ztf_queue.config.retries == 3


def test_the_operations_guide_listeners_load_typed(tooflow_home):
    """docs/operations.md's listeners section, as an operator copies it."""
    text = (REPO / "docs" / "operations.md").read_text()
    block = text[text.index("listeners:\n  hop:"):]
    (tooflow_home / "tooflow.yaml").write_text(block[:block.index("```")])
    s = load_settings()
    sources = s.listeners.sources()
    assert sorted(sources) == ["gcn", "hop", "igwn", "voevent"]
    assert sources["hop"] == {"url": "kafka://kafka.scimma.org/igwn.gwalert,snews.alert",
                              "group_id": "tooflow-mycollab", "auth": True,
                              "start_at": "latest"}
    assert sources["voevent"]["host"] == ["45.58.43.186", "68.169.57.253"]
    assert sources["igwn"]["batch_timeout"] == 0.2
    assert s.listeners.reconcile_interval == 30 and s.listeners.check_timeout == 10


def test_the_benchmarks_config_loads(tooflow_home):
    """benchmarks/latency.py's own file: a monitor that does not wait (0 s) is allowed."""
    (tooflow_home / "tooflow.yaml").write_text(
        "facilities:\n  simulator:\n    url: http://127.0.0.1:8765\n"
        "monitor:\n  max_wall_seconds: 0\n")
    s = load_settings()
    assert s.monitor.max_wall_seconds == 0
    assert s.facilities.simulator.url == "http://127.0.0.1:8765"


def test_the_shipped_programs_and_embedded_default_load():
    """No configuration file at all: the embedded default of the README's first command."""
    s = load_settings({"TOOFLOW_HOME": "/nonexistent-tooflow-home"})
    from tooflow.programs import load_programs

    assert load_programs(s.resolved_programs_file)
    assert s.facilities.simulator.url == ""


BAD = [
    # (file, the one line expected after "FILE: ")
    ("monitor: {mode: sideways}\n",
     "monitor.mode = 'sideways': Input should be 'inline' or 'deployment'"),
    ("monitr: {mode: inline}\n", "monitr: unknown setting; allowed: home, database_url"),
    ("facilities: {ZTF: {adapter: ZFT}}\n",
     "facilities.ZTF.adapter = 'ZFT': allowed: ZTF, DECam, KPED, Gattini, GROWTH-India"),
    ("facilities: {ZTF: {adapter: ZTF, tokn_env: X}}\n",
     "facilities.ZTF.tokn_env: unknown setting; allowed: adapter, url, token_env"),
    ("facilities: {simulator: {weather_loss: 1.5}}\n",
     "facilities.simulator.weather_loss = 1.5: Input should be less than or equal to 1"),
    ("notifications: {twilio: {base_url: https://api.twilio.com}}\n",
     "notifications.twilio.from_number: missing (required)"),
    ("notifications: {twilio: {from_number: '+15005550006', form: x}}\n",
     "notifications.twilio.form: unknown setting; allowed: from_number, base_url, call_reasons"),
    ("notifications: {deadline: -1}\n",
     "notifications.deadline = -1: Input should be greater than 0"),
    ("roster: [{name: Bob, tz: Mars/Olympus, hours: [{start: '18:00', end: '08:00'}]}]\n",
     "roster = [{'name': 'Bob'"),
    ("coincidence: {rules: snews}\n",
     "coincidence.rules = 'snews': Input should be 'tooflow' or 'snews_cs'"),
    ("roster: [{name: Carol, always: true}]\n",
     "roster = [{'name': 'Carol', 'always': True}]: roster entry 0 (Carol): unknown key "
     "'always'; allowed: name, slack, phone, email, tz, hours"),
    ("planning: {min_marginal_probability: {DECam: 2}}\n",
     "planning.min_marginal_probability.DECam = 2: Input should be less than or equal to 1"),
    ("listeners: {status_interval: soon}\n",
     "listeners.status_interval = 'soon': Input should be a valid number"),
    ("candidates: {top: 0}\n", "candidates.top = 0: Input should be greater than 0"),
    ("listeners: {gcn: {topic: [gcn.notices.icecube.lvk_nu_track_search]}}\n",
     "listeners.gcn.topic: unknown setting; allowed: group_id, start_at, batch_size, kafka, "
     "topics, domain, no_auth"),
    ("listeners: {hop: {url: 'kafka://kafka.scimma.org/igwn.gwalert', start_at: first}}\n",
     "listeners.hop.start_at = 'first': Input should be 'earliest' or 'latest'"),
    ("max_notice_bytes: 0\n", "max_notice_bytes = 0: Input should be greater than 0"),
    # the adapters' own keys (facilities.TELESCOPE.extra), typed by each adapter's model
    ("facilities: {ZTF: {adapter: ZTF, extra: {program_id: 7}}}\n",
     "facilities.ZTF.extra.program_id = 7: allowed: 2 (Partnership), 3 (Caltech)"),
    ("facilities: {ZTF: {adapter: ZTF, extra: {program_id: Partnrship}}}\n",
     "facilities.ZTF.extra.program_id = 'Partnrship': allowed: 2 (Partnership), 3 (Caltech)"),
    ("facilities: {ZTF: {adapter: ZTF, extra: {progam_pi: Kasliwal}}}\n",
     "facilities.ZTF.extra = {'progam_pi': 'Kasliwal'}: unknown key(s) 'progam_pi'; allowed: "
     "program_id, program_pi, tap_user_env, tap_password_env"),
    ("facilities: {DECam: {adapter: DECam, url: 'https://sispi.example'}}\n",
     "facilities.DECam.extra.propid: missing (required)"),
    ("facilities: {DECam: {adapter: DECam, extra: {propid: ''}}}\n",
     "facilities.DECam.extra.propid = '': String should have at least 1 character"),
    ("facilities: {KPED: {extra: {overhead: -5}}}\n",
     "facilities.KPED.extra.overhead = -5: Input should be greater than or equal to 0"),
    ("facilities: {Gattini: {adapter: Gattini, extra: {depth: {J: 165}}}}\n",
     "facilities.Gattini.extra.depth.J = 165: Input should be less than or equal to 30"),
    # a vetting action's follow-up facilities (candidates.followup.FACILITY)
    ("candidates: {followup: {SEDM: {kind: spectra, exposure_time: 1800}}}\n",
     "candidates.followup.SEDM.kind = 'spectra': Input should be 'photometry' or "
     "'spectroscopy'"),
    ("candidates: {followup: {KPED: {filtre: r}}}\n",
     "candidates.followup.KPED.filtre: unknown setting; allowed: kind, filter, exposure_time"),
    ("candidates: {followup: {KPED: {exposure_time: 0}}}\n",
     "candidates.followup.KPED.exposure_time = 0: Input should be greater than 0"),
    ("facilities: {simulator: {url: 'localhost:8500'}}\n",
     "facilities.simulator.url = 'localhost:8500': expected an http(s) URL with a host, "
     "e.g. http://127.0.0.1:8500, or empty"),
    ("facilities: {KPED: {extra: {propid: 2019A-0205}}}\n",
     "facilities.KPED.extra = {'propid': '2019A-0205'}: unknown key(s) 'propid'; allowed: "
     "overhead, reference_exposure, depth"),
]


@pytest.mark.parametrize("text,expected", BAD, ids=[b[1].split(" ")[0].rstrip(":") for b in BAD])
def test_a_bad_value_is_named_with_key_value_and_what_is_allowed(tooflow_home, text, expected):
    path = tooflow_home / "tooflow.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value).startswith(f"{path}: {expected}")
    assert "\n" not in str(err.value)


def test_a_bad_value_is_shown_without_its_credentials(tooflow_home):
    (tooflow_home / "tooflow.yaml").write_text(
        "database_url: [postgresql+psycopg2://tooflow:hunter2@db.example/tooflow]\n")
    with pytest.raises(ConfigError, match="database_url = ") as err:
        load_settings()
    assert "hunter2" not in str(err.value)


def test_a_bad_variable_is_named(tooflow_home, monkeypatch):
    monkeypatch.setenv("TOOFLOW_IERS_OFFLINE", "maybe")
    with pytest.raises(ConfigError, match="^TOOFLOW_IERS_OFFLINE: iers_offline = 'maybe': "
                                          "Input should be 'auto', 'true' or 'false'$"):
        load_settings()
    monkeypatch.setenv("TOOFLOW_IERS_OFFLINE", "yes")
    assert load_settings().iers_offline == "true"


def test_the_command_fails_at_start_in_one_line(tooflow_home, capsys):
    """In-process: the command does nothing (no database created) and says why."""
    path = tooflow_home / "tooflow.yaml"
    path.write_text(yaml.safe_dump({"monitor": {"mode": "sideways"}}))
    assert main(["events"]) == 1
    err = capsys.readouterr().err
    assert err == (f"tooflow: error: {path}: monitor.mode = 'sideways': "
                   "Input should be 'inline' or 'deployment'\n")
    assert not (tooflow_home / "tooflow.sqlite").exists()


def test_tooflow_ingest_refuses_a_bad_config_before_storing(tooflow_home):
    """As an operator runs it: its own process, the README's first notice, no traceback."""
    import os

    path = tooflow_home / "tooflow.yaml"
    path.write_text("facilities:\n  ZTF: {adapter: ZTF, url: https://x.example, retries: -1}\n")
    notice = REPO / "tests" / "data" / "lvk" / "avro" / "MS181101ab-preliminary.avro"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOFLOW_")}
    env["TOOFLOW_HOME"] = str(tooflow_home)
    done = subprocess.run([str(Path(sys.executable).with_name("tooflow")), "ingest", str(notice)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert done.stderr == (f"tooflow: error: {path}: facilities.ZTF.retries = -1: "
                           "Input should be greater than or equal to 0\n")
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (tooflow_home / "tooflow.sqlite").exists()


def test_a_telescope_entry_takes_exactly_the_adapter_settings():
    """The typed entry and tooflow.facilities.base.FacilityConfig cannot drift apart."""
    import dataclasses

    from tooflow.config.sections import TelescopeQueueSection
    from tooflow.facilities import FacilityConfig

    own = {"adapter", "speedup", "weather_loss", "seed"}
    assert set(TelescopeQueueSection.model_fields) - own == {
        f.name for f in dataclasses.fields(FacilityConfig)}


def test_the_shipped_programs_strategies_are_typed():
    """tooflow/programs.yaml: every strategy checked when read; each telescope's keys
    build the planner's Strategy, and the typed keys are exactly Strategy's."""
    import dataclasses

    from tooflow.planning.strategy import Strategy
    from tooflow.programs import ProgramStrategy, TelescopeStrategy, load_programs

    assert set(TelescopeStrategy.model_fields) == {f.name for f in dataclasses.fields(Strategy)}
    programs = load_programs(REPO / "tooflow" / "programs.yaml")
    kilonova = next(p for p in programs if p.name == "GW kilonova search")
    assert kilonova.strategy["objective"] == "detection"
    assert kilonova.strategy["window_hours"] == 48.0
    assert kilonova.strategy["telescopes"]["GROWTH-India"] == {
        "filters": ["r"], "mode": "galaxies", "max_fields": 20}
    for program in programs:
        ProgramStrategy.model_validate(program.strategy)  # what is kept is still valid
        for spec in program.strategy.get("telescopes", {}).values():
            Strategy(**spec)


BAD_STRATEGIES = [
    # (the program's strategy, the line expected after "FILE: program 'P': ")
    ("{window_hour: 5}", "strategy.window_hour: unknown key; allowed: window_hours, "
                         "time_limit, lookahead_days, objective, counterpart, telescopes"),
    ("{objective: fame}",
     "strategy.objective = 'fame': Input should be 'coverage' or 'detection'"),
    ("{counterpart: {model: supernova}}",
     "strategy.counterpart = {'model': 'supernova'}: model 'supernova': allowed: kilonova, "
     "afterglow"),
    ("{telescopes: {ZTF: {mode: mosaic}}}",
     "strategy.telescopes.ZTF.mode = 'mosaic': Input should be 'tiling', 'galaxies' or "
     "'pointed'"),
    ("{telescopes: {ZTF: {min_gap: -1800}}}",
     "strategy.telescopes.ZTF.min_gap = -1800: Input should be greater than or equal to 0"),
    ("{telescopes: {DECam: {exposure_tim: {i: 90}}}}",
     "strategy.telescopes.DECam.exposure_tim: unknown key; allowed: filters, exposure_time"),
    ("{window_hours: 0}", "strategy.window_hours = 0: Input should be greater than 0"),
]


@pytest.mark.parametrize("strategy,expected", BAD_STRATEGIES,
                         ids=[b[1].split(" ")[0].rstrip(":") for b in BAD_STRATEGIES])
def test_a_bad_program_strategy_stops_tooflow_at_start(tooflow_home, capsys, strategy,
                                                       expected):
    programs = tooflow_home / "programs.yaml"
    programs.write_text("programs:\n  - name: P\n    telescopes: [ZTF, DECam]\n"
                        f"    strategy: {strategy}\n")
    (tooflow_home / "tooflow.yaml").write_text(f"programs_file: {programs}\n")
    assert main(["ingest", str(tooflow_home / "notice.json")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"tooflow: error: {programs}: program 'P': {expected}")
    assert err.count("\n") == 1  # one line
    assert not (tooflow_home / "tooflow.sqlite").exists()  # nothing done
    # A command that only reads what is stored says so and runs.
    assert main(["events"]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"tooflow: warning: {programs}: program 'P': {expected}")
