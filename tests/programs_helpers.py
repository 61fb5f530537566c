"""The test programmes, written once: "ZTF kilonova" and its kin for MS181101ab.

MS181101ab (the LVK user-guide mock, Avro with its BAYESTAR map) is planned on
the night of 2019-04-01 (Palomar), when its RA 194°, Dec −18° position transits
near local midnight. The tests that gate, plan, submit, monitor or approve it
use :func:`kilonova_program` (a GW CBC programme with a small enough area) with
the telescopes they need, and :func:`use_programs` to point tooflow at them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from .conftest import DATA

PRELIMINARY = DATA / "lvk" / "avro" / "MS181101ab-preliminary.avro"
NIGHT = dt.datetime(2019, 4, 1, 4, 0, tzinfo=dt.UTC)

#: How each telescope observes in the test programmes.
TELESCOPE_STRATEGY = {
    "ZTF": {"filters": ["g", "r"], "min_gap": 1800},
    "Gattini": {"filters": ["J"]},
    "DECam": {"filters": ["i"], "exposure_time": {"i": 30}},
}


def kilonova_program(name: str = "ZTF kilonova", telescopes: tuple[str, ...] = ("ZTF",),
                     **options) -> dict:
    """A GW kilonova programme (CBC, 90 % area < 1000 deg², mocks accepted) as a dict.

    Parameters
    ----------
    name : str
        The programme's name.
    telescopes : tuple of str
        Its telescopes, each observing as :data:`TELESCOPE_STRATEGY` says.
    **options
        Further programme keys (``approval``, ``approval_timeout``, …).

    Returns
    -------
    dict
        One entry of a programmes file's ``programs`` list.
    """
    return {"name": name, "kinds": ["GW"], "accept_mock": True,
            "criteria": 'group == "CBC" and area_90 < 1000',
            "telescopes": list(telescopes), **options,
            "strategy": {"window_hours": 10, "time_limit": 10,
                         "telescopes": {t: TELESCOPE_STRATEGY[t] for t in telescopes}}}


def afterglow_program(telescopes: dict[str, dict], **strategy) -> dict:
    """The "GRB afterglow" programme (GRB, error radius < 10°) over ``telescopes``.

    Parameters
    ----------
    telescopes : dict
        Each telescope's strategy (filters, mode, …), in the order they are listed.
    **strategy
        Further strategy keys (``time_limit``, ``lookahead_days``, …); a 24 h window.

    Returns
    -------
    dict
        One entry of a programmes file's ``programs`` list.
    """
    return {"name": "GRB afterglow", "kinds": ["GRB"], "criteria": "error_radius < 10",
            "telescopes": list(telescopes),
            "strategy": {"window_hours": 24, **strategy, "telescopes": telescopes}}


class _PlainDumper(yaml.SafeDumper):
    """Writes a dict used twice out twice (no YAML anchors)."""

    def ignore_aliases(self, data) -> bool:
        return True


def programs_yaml(*programs: dict) -> str:
    """A programmes file holding ``programs`` (dicts, as :func:`kilonova_program` makes)."""
    return yaml.dump({"programs": list(programs)}, Dumper=_PlainDumper, sort_keys=False)


def use_programs(tmp_path: Path, monkeypatch, programs: str, config: str = "") -> Path:
    """Write ``programs`` and a tooflow.yaml naming them (then ``config``); set TOOFLOW_CONFIG.

    Parameters
    ----------
    tmp_path : Path
        Where programs.yaml and tooflow.yaml are written.
    monkeypatch : pytest.MonkeyPatch
        Sets ``TOOFLOW_CONFIG`` for the test.
    programs : str
        The programmes file's text (:func:`programs_yaml`).
    config : str
        More of tooflow.yaml, after ``programs_file``.

    Returns
    -------
    Path
        tooflow.yaml.
    """
    path = tmp_path / "programs.yaml"
    path.write_text(programs)
    tooflow_yaml = tmp_path / "tooflow.yaml"
    tooflow_yaml.write_text(f"programs_file: {path}\n{config}")
    monkeypatch.setenv("TOOFLOW_CONFIG", str(tooflow_yaml))
    return tooflow_yaml


def use_simulator(tmp_path: Path, monkeypatch, simulator_url: str,
                  programs: str | None = None, config: str = "") -> Path:
    """:func:`use_programs` (default: ZTF kilonova alone), queues at the simulator.

    The circulars are signed by two authors for the ZTF collaboration; ``config``
    is appended to tooflow.yaml. Returns tooflow.yaml.
    """
    return use_programs(tmp_path, monkeypatch, programs or programs_yaml(kilonova_program()),
                        f"facilities:\n  simulator:\n    url: {simulator_url}\n"
                        "circulars:\n  authors: [A. Astronomer, {name: B. Observer, "
                        "affiliation: Caltech}]\n  collaboration: the ZTF collaboration\n"
                        + config)
