"""Settings layering: defaults, then YAML, then TOOFLOW_* variables."""

from __future__ import annotations

from pathlib import Path

from tooflow.config import load_settings


def test_defaults_live_under_home(tooflow_home):
    s = load_settings()
    assert s.home == tooflow_home
    assert s.resolved_database_url == f"sqlite:///{tooflow_home / 'tooflow.sqlite'}"
    assert s.resolved_skymap_dir == tooflow_home / "skymaps"
    assert s.resolved_programs_file.name == "programs.yaml"


def test_yaml_then_environment(tooflow_home, monkeypatch):
    (tooflow_home / "tooflow.yaml").write_text(
        "database_url: postgresql+psycopg2://db.example/tooflow\n"
        "max_notice_bytes: 1000\n"
        "roster:\n  - name: Alice\n")
    s = load_settings()
    assert s.database_url == "postgresql+psycopg2://db.example/tooflow"
    assert s.max_notice_bytes == 1000
    assert s.extra["roster"] == [{"name": "Alice"}]
    monkeypatch.setenv("TOOFLOW_MAX_NOTICE_BYTES", "2000")
    monkeypatch.setenv("TOOFLOW_DATABASE_URL", "sqlite:///x.sqlite")
    s = load_settings()
    assert s.max_notice_bytes == 2000
    assert s.database_url == "sqlite:///x.sqlite"


def test_explicit_config_file(tmp_path, monkeypatch):
    cfg = tmp_path / "site.yaml"
    cfg.write_text(f"programs_file: {tmp_path / 'p.yaml'}\n")
    monkeypatch.setenv("TOOFLOW_CONFIG", str(cfg))
    assert load_settings().resolved_programs_file == Path(tmp_path / "p.yaml")
