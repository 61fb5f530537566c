"""``tooflow db``, ``events`` and ``show`` on the real sample notices."""

from __future__ import annotations

from sqlalchemy import inspect

from tooflow.cli import main
from tooflow.db import get_engine


def test_db_create_sample_events_show_drop(engine, capsys):
    assert main(["db", "create", "--sample"]) == 0
    out = capsys.readouterr().out
    assert "database ready" in out
    assert "sample S230518h-initial.json: S230518h INITIAL → GW kilonova search" in out
    assert "sample snews_gcn_test.xml" in out

    assert main(["events"]) == 0
    listing = capsys.readouterr().out
    for event_id in ("S230518h", "Fermi-GBM-680977982"):
        assert event_id in listing

    assert main(["show", "S230518h"]) == 0
    shown = capsys.readouterr().out
    assert "S230518h  GW  INITIAL" in shown
    assert "✔ GW kilonova search" in shown
    assert "notices (1):" in shown

    assert main(["db", "create", "--sample"]) == 0  # again: nothing twice
    assert "sample S230518h-initial.json: already stored as notice #" in capsys.readouterr().out
    assert main(["events"]) == 0
    assert capsys.readouterr().out.count("S230518h") == 1

    # without a terminal to confirm on (or --yes), nothing is dropped
    assert main(["db", "drop"]) == 1
    assert "not dropped" in capsys.readouterr().err
    assert main(["events"]) == 0 and "S230518h" in capsys.readouterr().out
    assert main(["db", "drop", "--yes"]) == 0
    assert "notice" not in inspect(get_engine()).get_table_names()


def test_a_database_url_with_a_percent_sign_reaches_alembic_unchanged():
    """A password with '@' is percent-encoded in the URL ('%40'); Alembic's settings
    are a configparser, which reads '%' as interpolation: the URL must reach the
    migrations as it is (it raised ValueError, and create_schema failed)."""
    from tooflow.db import alembic_config

    engine = get_engine(url="postgresql+psycopg2://tooflow:p%40ss%25word@127.0.0.1:5432/test")
    url = engine.url.render_as_string(hide_password=False)
    assert "%40" in url
    assert alembic_config(engine).get_main_option("sqlalchemy.url") == url
    assert engine.url.password == "p@ss%word"
