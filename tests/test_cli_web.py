"""``tooflow web user ...``, ``tooflow approve``, ``tooflow circular --edit/--mark-sent``:
the command line calls the same functions as the web pages, and records who."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from tooflow.cli import main
from tooflow.models import AuditRecord, CircularVersion, PlanApproval, User

from . import web_helpers

marshal_template, planned = web_helpers.marshal_template, web_helpers.planned


def test_user_add_list_role_passwd(sqlite_engine, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["web", "user", "add", "alice", "--role", "admin"]) == 1  # no terminal, no env
    assert "export TOOFLOW_WEB_PASSWORD instead" in capsys.readouterr().err
    monkeypatch.setenv("TOOFLOW_WEB_PASSWORD", "short")
    assert main(["web", "user", "add", "alice", "--role", "admin"]) == 1
    assert "at least 12 characters" in capsys.readouterr().err
    monkeypatch.setenv("TOOFLOW_WEB_PASSWORD", "a long enough password")
    assert main(["web", "user", "add", "alice", "--role", "admin", "--name", "Alice E."]) == 0
    assert main(["web", "user", "add", "alice"]) == 1
    assert "exists already" in capsys.readouterr().err
    assert main(["web", "user", "role", "alice", "duty", "--disable"]) == 0
    assert main(["web", "user", "list"]) == 0
    out = capsys.readouterr().out
    assert "alice                duty    DISABLED  password  Alice E." in out
    with Session(sqlite_engine) as s:
        user = s.exec(select(User)).one()
        assert user.password_hash.startswith("$argon2id$")
        assert "a long enough password" not in user.password_hash
        actions = s.exec(select(AuditRecord.action)).all()
    assert actions == ["add_user", "set_role"]


def test_approve_and_circular_from_the_command_line(planned, capsys, tmp_path):
    engine, _settings, ids = planned
    assert main(["approve"]) == 0
    assert f"plan #{ids['plan_id']}  MS181101ab  ZTF kilonova  waits until" in \
        capsys.readouterr().out
    assert main(["approve", str(ids["plan_id"]), "-m", "fine"]) == 0
    assert f"plan #{ids['plan_id']} approved by cli:" in capsys.readouterr().out
    assert main(["approve", str(ids["plan_id"]), "--reject"]) == 1
    assert "already approved" in capsys.readouterr().err

    assert main(["circular", "MS181101ab"]) == 0
    drafted = capsys.readouterr().out
    assert drafted.startswith("SUBJECT: ") and "MS181101ab" in drafted
    edited = tmp_path / "c.txt"
    edited.write_text(drafted.rstrip() + "\n\nEdited on the command line.\n")
    assert main(["circular", "MS181101ab", "--edit", str(edited), "--mark-sent"]) == 0
    capsys.readouterr()
    assert main(["circular", "MS181101ab", "--versions"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("v1 ") and " tooflow " in lines[0]
    assert lines[1].startswith("v2 ") and "SENT by cli:" in lines[1]
    assert main(["circular", "MS181101ab"]) == 0
    assert capsys.readouterr().out.endswith("Edited on the command line.\n")
    with Session(engine) as s:
        assert s.get(PlanApproval, ids["approval_id"]).comment == "fine"
        assert len(s.exec(select(CircularVersion)).all()) == 2
    bad = tmp_path / "bad.txt"
    bad.write_text("no subject line\n")
    assert main(["circular", "MS181101ab", "--edit", str(bad)]) == 1


@pytest.mark.parametrize("text, error", [("SUBJECT: \n\nbody", "the subject is empty"),
                                         ("SUBJECT: s\n\n  \n", "the text is empty")])
def test_empty_edits_are_refused(planned, tmp_path, capsys, text, error):
    f = tmp_path / "c.txt"
    f.write_text(text)
    assert main(["circular", "MS181101ab", "--edit", str(f)]) == 1
    assert error in capsys.readouterr().err
