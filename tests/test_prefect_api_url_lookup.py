"""``configured_api_url`` asks Prefect only when a settings source could hold an API URL.

Each case runs in a fresh process (Prefect caches its settings per process), in
an empty working directory with its own ``PREFECT_HOME``, and reports what
``configured_api_url`` answered and whether Prefect was imported; the answer
with Prefect asked is Prefect's own reading of the same sources.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import json, sys
from tooflow.embedded.prefect_server import configured_api_url
url = configured_api_url()
print(json.dumps({"url": url, "prefect_imported": "prefect" in sys.modules}))
"""


def _probe(cwd: Path, prefect_home: Path, **extra_env: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "TOOFLOW_"))}
    env.update(PREFECT_HOME=str(prefect_home), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               DO_NOT_TRACK="1", TOOFLOW_HOME=str(cwd / "home"), **extra_env)
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=cwd, env=env, check=True,
                         capture_output=True, text=True, timeout=300).stdout
    return json.loads(out.splitlines()[-1])


@pytest.fixture
def dirs(tmp_path):
    cwd, home = tmp_path / "cwd", tmp_path / "prefect-home"
    cwd.mkdir()
    home.mkdir()
    return cwd, home


def test_nothing_configured_answers_none_without_importing_prefect(dirs):
    assert _probe(*dirs) == {"url": None, "prefect_imported": False}


def test_a_profile_without_an_api_url_answers_none_without_importing_prefect(dirs):
    cwd, home = dirs
    (home / "profiles.toml").write_text(
        'active = "ops"\n[profiles.ops]\nPREFECT_LOGGING_LEVEL = "DEBUG"\n'
        '[profiles.other]\nPREFECT_API_URL = "http://elsewhere:4200/api"\n')
    assert _probe(cwd, home) == {"url": None, "prefect_imported": False}


def test_the_active_profiles_api_url_is_prefects_answer(dirs):
    cwd, home = dirs
    (home / "profiles.toml").write_text(
        'active = "ops"\n[profiles.ops]\nPREFECT_API_URL = "http://prefect.example.org:4200/api"\n')
    assert _probe(cwd, home) == {"url": "http://prefect.example.org:4200/api",
                                 "prefect_imported": True}


def test_prefect_profile_variable_selects_a_profile_prefect_reads(dirs):
    cwd, home = dirs
    (home / "profiles.toml").write_text(
        'active = "ephemeral"\n[profiles.ephemeral]\n'
        '[profiles.ops]\nPREFECT_API_URL = "http://ops.example.org/api"\n')
    assert _probe(cwd, home, PREFECT_PROFILE="ops") == {
        "url": "http://ops.example.org/api", "prefect_imported": True}


def test_prefect_toml_in_the_working_directory_is_read_by_prefect(dirs):
    cwd, home = dirs
    (cwd / "prefect.toml").write_text('[api]\nurl = "http://toml.example.org/api"\n')
    assert _probe(cwd, home) == {"url": "http://toml.example.org/api", "prefect_imported": True}


def test_dotenv_in_the_working_directory_is_read_by_prefect(dirs):
    cwd, home = dirs
    (cwd / ".env").write_text("PREFECT_API_URL=http://dotenv.example.org/api\n")
    assert _probe(cwd, home) == {"url": "http://dotenv.example.org/api",
                                 "prefect_imported": True}


def test_the_environment_variable_needs_no_prefect(dirs):
    assert _probe(*dirs, PREFECT_API_URL="http://env.example.org/api") == {
        "url": "http://env.example.org/api", "prefect_imported": False}


def test_pyproject_tool_prefect_is_read_by_prefect_and_other_tools_are_not(dirs):
    cwd, home = dirs
    (cwd / "pyproject.toml").write_text('[tool.ruff]\nline-length = 100\n')
    assert _probe(cwd, home) == {"url": None, "prefect_imported": False}
    (cwd / "pyproject.toml").write_text('[tool.prefect.api]\nurl = "http://pyproject.example.org/api"\n')
    assert _probe(cwd, home) == {"url": "http://pyproject.example.org/api",
                                 "prefect_imported": True}


def test_a_prefect_settings_context_is_read_once_prefect_is_imported(dirs):
    probe = ("import json, sys\n"
             "from prefect.settings import PREFECT_API_URL, temporary_settings\n"
             "from tooflow.embedded.prefect_server import configured_api_url\n"
             "with temporary_settings({PREFECT_API_URL: 'http://context.example.org/api'}):\n"
             "    print(json.dumps(configured_api_url()))\n")
    cwd, home = dirs
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "TOOFLOW_"))}
    env.update(PREFECT_HOME=str(home), DO_NOT_TRACK="1", TOOFLOW_HOME=str(cwd / "home"))
    out = subprocess.run([sys.executable, "-c", probe], cwd=cwd, env=env, check=True,
                         capture_output=True, text=True, timeout=300).stdout
    assert json.loads(out.splitlines()[-1]) == "http://context.example.org/api"
