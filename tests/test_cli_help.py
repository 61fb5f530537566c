"""Every ``tooflow`` command answers --help, and --version works (ligo.skymap's habit)."""

from __future__ import annotations

import argparse

import pytest

from tooflow.cli import main, parser


def _commands(p: argparse.ArgumentParser, prefix=()):
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from _commands(sub, (*prefix, name))


COMMANDS = sorted(set(_commands(parser())))


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("tooflow ")


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: tooflow " + " ".join(command))
    assert len(out.splitlines()) > 3
    assert "``" not in out and ":func:" not in out  # no raw docstring markup


def test_every_command_is_listed():
    top = {c[0] for c in COMMANDS}
    assert {"db", "ingest", "events", "show", "circular", "plan", "listen", "send",
            "rerun", "reconcile", "simulator", "coincidence", "server", "iers"} <= top
