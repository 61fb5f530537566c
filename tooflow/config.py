"""tooflow settings.

Settings are layered, lowest priority first:

1. the defaults of :class:`Settings`;
2. the YAML file named by ``TOOFLOW_CONFIG``, else ``$TOOFLOW_HOME/tooflow.yaml``
   if it exists (keys are the attribute names below);
3. environment variables ``TOOFLOW_<NAME>`` (upper case attribute name).

They are loaded by :func:`load_settings`, never at import time. Secrets (Slack
tokens, Twilio credentials, Kafka passwords) are *not* settings: they are read
from the environment by the code that needs them and never logged.
See docs/configuration.md for the reference.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Settings", "load_settings", "default_home"]


def default_home() -> Path:
    """``$TOOFLOW_HOME``, else ``~/.tooflow``."""
    return Path(os.environ.get("TOOFLOW_HOME") or Path.home() / ".tooflow").expanduser()


@dataclass
class Settings:
    """Everything tooflow can be told; see the module docstring for the layering."""

    home: Path = field(default_factory=default_home)
    """Directory for the SQLite database, sky maps, plans and the Prefect home."""

    database_url: str = ""
    """SQLAlchemy URL; empty means ``sqlite:///$TOOFLOW_HOME/tooflow.sqlite``.
    Production: ``postgresql+psycopg2://user@host:5432/tooflow``."""

    programs_file: str = ""
    """YAML file of science programs; empty means the example programs shipped
    with tooflow (``tooflow/programs.yaml``)."""

    skymap_dir: str = ""
    """Content-addressed sky-map store; empty means ``$TOOFLOW_HOME/skymaps``."""

    max_notice_bytes: int = 16 << 20
    """Notices larger than this are rejected (bytes)."""

    skymap_fetch_timeout: float = 10.0
    """Seconds to wait for each read of a sky map given only by URL."""

    skymap_fetch_deadline: float = 120.0
    """Total seconds for fetching a sky map given only by URL (all attempts): a
    server trickling bytes cannot hold a flow longer."""

    skymap_fetch_retries: int = 3
    """Attempts to fetch a sky map given only by URL."""

    iers_offline: str = "auto"
    """``auto`` (offline when the IERS servers are unreachable), ``true`` or ``false``."""

    extra: dict[str, Any] = field(default_factory=dict)
    """Sections of the YAML file tooflow does not interpret itself (e.g. ``roster``,
    ``facilities``, ``notifications``), kept for the modules that do."""

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'tooflow.sqlite'}"

    @property
    def resolved_skymap_dir(self) -> Path:
        return Path(self.skymap_dir) if self.skymap_dir else self.home / "skymaps"

    @property
    def resolved_programs_file(self) -> Path:
        if self.programs_file:
            return Path(self.programs_file)
        return Path(__file__).with_name("programs.yaml")


def _coerce(value: str, like: Any) -> Any:
    if isinstance(like, bool):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(like, int):
        return int(value)
    if isinstance(like, float):
        return float(value)
    if isinstance(like, Path):
        return Path(value).expanduser()
    return value


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from defaults, the YAML file and the environment.

    Parameters
    ----------
    environ : dict, optional
        Environment to read (default: :data:`os.environ`).
    """
    env = dict(os.environ if environ is None else environ)
    home = Path(env.get("TOOFLOW_HOME") or Path.home() / ".tooflow").expanduser()
    settings = Settings(home=home)
    names = {f.name for f in dataclasses.fields(Settings)} - {"extra"}

    config_file = env.get("TOOFLOW_CONFIG") or str(home / "tooflow.yaml")
    if Path(config_file).is_file():
        data = yaml.safe_load(Path(config_file).read_text()) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{config_file}: expected a mapping of settings")
        for key, value in data.items():
            if key in names:
                setattr(settings, key, Path(value) if key == "home" else value)
            else:
                settings.extra[key] = value

    for name in names:
        value = env.get(f"TOOFLOW_{name.upper()}")
        if value is not None:
            setattr(settings, name, _coerce(value, getattr(settings, name)))
    return settings
