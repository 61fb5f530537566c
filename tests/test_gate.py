"""The science-program gate: YAML programs, safe criteria, reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from tooflow.programs import Program, evaluate, gate, load_programs

SHIPPED = Path(__file__).parents[1] / "tooflow" / "programs.yaml"

# Fields as the parse stage records them for the REAL O4 NSBH S230518h INITIAL notice
# (classification and properties from tests/data/lvk/S230518h-initial.json).
S230518H = {
    "event_id": "S230518h", "kind": "GW", "source": "LVK", "notice_type": "INITIAL",
    "is_mock": False, "is_retraction": False, "group": "CBC", "search": "AllSky",
    "significant": True, "HasNS": 1.0, "HasRemnant": 0.0, "p_BNS": 0.0, "p_NSBH": 0.86,
    "p_BBH": 0.0, "p_Terrestrial": 0.14, "area_90": 460.0, "distance_mean": 204.0,
}


def test_shipped_programs_load():
    programs = load_programs(SHIPPED)
    names = [p.name for p in programs]
    assert "GW kilonova search" in names and "Galactic supernova" in names
    assert all(isinstance(p, Program) for p in programs)


def test_libyaml_loader_reads_the_shipped_programs_as_the_python_loader(monkeypatch):
    """load_programs uses PyYAML's C safe loader when present: the same programs."""
    import yaml

    fast = load_programs(SHIPPED)
    monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    assert fast == load_programs(SHIPPED)


def test_kilonova_program_triggers_on_nsbh():
    decisions = {d.program: d for d in gate(S230518H, load_programs(SHIPPED))}
    kn = decisions["GW kilonova search"]
    assert kn.triggered
    assert "p_NSBH=0.86" in kn.reason
    assert not decisions["GRB afterglow"].triggered
    assert decisions["GRB afterglow"].reason == "kind GW not in ['GRB']"


def test_failed_clause_is_named_with_its_value():
    met, reason = evaluate("group == 'CBC' and area_90 < 1000 and distance_mean < 300",
                           {**S230518H, "area_90": 1523.4})
    assert not met
    assert reason == "area_90 < 1000 is false (area_90=1523)"


def test_missing_field_is_a_reason_not_a_crash():
    met, reason = evaluate("signalness > 0.5", S230518H)
    assert not met
    assert "field 'signalness' not available" in reason


def test_mock_events_only_reach_programs_that_accept_them():
    programs = [Program("real only", kinds=("GW",)),
                Program("drills", kinds=("GW",), accept_mock=True)]
    decisions = gate({**S230518H, "is_mock": True}, programs)
    assert [d.triggered for d in decisions] == [False, True]
    assert "does not accept mocks" in decisions[0].reason


def test_retraction_triggers_nothing():
    decisions = gate({**S230518H, "is_retraction": True}, load_programs(SHIPPED))
    assert not any(d.triggered for d in decisions)
    assert all(d.reason.startswith("retraction") for d in decisions)


def test_notice_type_filter():
    p = Program("prelim only", kinds=("GW",), notice_types=("PRELIMINARY",))
    (d,) = gate(S230518H, [p])
    assert not d.triggered and "notice type INITIAL" in d.reason


@pytest.mark.parametrize("criteria", [
    "__import__('os').system('true')",
    "().__class__.__bases__[0].__subclasses__()",
    "open('/etc/passwd').read()",
])
def test_criteria_cannot_escape(criteria):
    met, reason = evaluate(criteria, S230518H)
    assert not met
    assert "refused" in reason or "cannot evaluate" in reason


def test_bad_program_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "programs.yaml"
    bad.write_text("programs:\n  - name: x\n    criteria: 'area_90 <'\n")
    with pytest.raises(ValueError, match="bad criteria"):
        load_programs(bad)
    bad.write_text("programs:\n  - name: x\n    trigger_on: GW\n")
    with pytest.raises(ValueError, match="unknown keys"):
        load_programs(bad)


def test_docstring_examples():
    import doctest

    import tooflow.programs

    result = doctest.testmod(tooflow.programs)
    assert result.attempted > 0 and result.failed == 0
