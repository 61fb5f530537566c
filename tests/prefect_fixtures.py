"""Deployments on the session's Prefect test server (``prefect`` fixture of conftest.py).

Import in a test module: ``from tests import prefect_fixtures`` and
``deployment = prefect_fixtures.deployment``.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml

__all__ = ["ENTRYPOINT", "deployment", "flow_run"]

ROOT = Path(__file__).parent.parent
# The entrypoint prefect.yaml deploys, so that the worker test runs the real
# configuration (a module path: the script-path form breaks relative imports).
ENTRYPOINT = next(d["entrypoint"] for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())
                  ["deployments"] if d["name"] == "handle-notice")


@pytest.fixture(scope="session")
def deployment(prefect):
    """``handle-notice/handle-notice`` on a process work pool of its own; yields the pool."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.utilities.callables import parameter_schema

    from tooflow.flows.handle_notice import handle_notice

    pool = f"tooflow-test-{uuid.uuid4().hex[:6]}"
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        flow_id = client.create_flow_from_name("handle-notice")
        client.create_deployment(
            flow_id=flow_id, name="handle-notice", work_pool_name=pool,
            entrypoint=ENTRYPOINT,
            pull_steps=[{"prefect.deployments.steps.set_working_directory":
                         {"directory": str(ROOT)}}],
            parameter_openapi_schema=parameter_schema(handle_notice).model_dump_for_openapi(),
            enforce_parameter_schema=True)
    return pool


def flow_run(run_id: str):
    """The flow run ``run_id`` as the API reports it now."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(uuid.UUID(run_id))
