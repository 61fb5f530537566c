"""Every deployment in prefect.yaml points at a flow that loads.

Entrypoints are in module form (``tooflow.flows.handle_notice:handle_notice``):
a process worker loading the path form runs the file outside its package and
fails on the relative imports (seen in tests/test_trigger.py's worker test).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[1]
DEPLOYMENTS = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=[d["name"] for d in DEPLOYMENTS])
def test_entrypoint_loads(deployment, monkeypatch):
    from prefect.flows import load_flow_from_entrypoint

    monkeypatch.chdir(ROOT)
    entrypoint = deployment["entrypoint"]
    assert not entrypoint.split(":")[0].endswith(".py"), "use the module form"
    flow = load_flow_from_entrypoint(entrypoint)
    assert flow.name == deployment["name"]
    assert deployment["work_pool"]["name"] == "tooflow"


def test_handle_notice_is_deployed():
    assert "handle-notice" in {d["name"] for d in DEPLOYMENTS}
