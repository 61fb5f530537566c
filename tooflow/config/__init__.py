"""tooflow settings.

Settings are layered, lowest priority first:

1. the defaults of :class:`Settings`;
2. the YAML file named by ``TOOFLOW_CONFIG``, else ``$TOOFLOW_HOME/tooflow.yaml``
   if it exists (keys are the attribute names below);
3. environment variables ``TOOFLOW_<NAME>`` (upper case attribute name), and
   ``TOOFLOW_SIMULATOR_URL`` for ``facilities.simulator.url`` (the one key of a
   section that has a variable: ``tooflow listen`` hands the simulator it serves
   to its flow runs with it).

They are loaded by :func:`load_settings`, never at import time. Secrets (Slack
tokens, Twilio credentials, Kafka passwords) are *not* settings: they are read
from the environment by the code that needs them and never logged.
See docs/configuration.md for the reference. The sections of the file are typed in
:mod:`tooflow.config.sections`; the candidates', notifications' and web pages'
sections are read by their rooms (``candidates/config.py``, ``notify/config.py``,
``web/config.py``).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    field_validator,
)

from ..notify.config import NotifyConfig
from .sections import (
    CandidatesSection,
    CircularsSection,
    CoincidenceSection,
    FacilitiesSection,
    GalaxiesSection,
    ListenersSection,
    MonitorSection,
    PlanningSection,
    Roster,
    WebSection,
)

__all__ = ["SIMULATOR_URL_ENV", "ConfigError", "Settings", "load_settings", "default_home"]


def default_home() -> Path:
    """``$TOOFLOW_HOME``, else ``~/.tooflow``."""
    return Path(os.environ.get("TOOFLOW_HOME") or Path.home() / ".tooflow").expanduser()


class ConfigError(ValueError):
    """A setting has a value tooflow cannot use; the message names the key, the value
    and what is allowed, one line per problem."""


class Settings(BaseModel):
    """Everything tooflow can be told; see the module docstring for the layering.

    Loaded once per process and configuration (:func:`load_settings`), and never
    changed after: every section is checked when it is loaded.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    home: Path = Field(default_factory=default_home)
    """Directory for the SQLite database, sky maps, plans and the Prefect home."""

    database_url: str = ""
    """SQLAlchemy URL; empty means ``sqlite:///$TOOFLOW_HOME/tooflow.sqlite``.
    Production: ``postgresql+psycopg2://user@host:5432/tooflow``."""

    programs_file: str = ""
    """YAML file of science programs; empty means the example programs shipped
    with tooflow (``tooflow/programs.yaml``)."""

    skymap_dir: str = ""
    """Content-addressed sky-map store; empty means ``$TOOFLOW_HOME/skymaps``."""

    max_notice_bytes: PositiveInt = 16 << 20
    """Notices larger than this are rejected (bytes)."""

    skymap_fetch_timeout: PositiveFloat = 10.0
    """Seconds to wait for each read of a sky map given only by URL."""

    skymap_fetch_deadline: PositiveFloat = 120.0
    """Total seconds for fetching a sky map given only by URL (all attempts): a
    server trickling bytes cannot hold a flow longer."""

    skymap_fetch_retries: NonNegativeInt = 3
    """Attempts to fetch a sky map given only by URL."""

    iers_offline: Literal["auto", "true", "false"] = "auto"
    """``auto`` (offline when the IERS servers are unreachable), ``true`` or ``false``."""

    @field_validator("iers_offline", mode="before")
    @classmethod
    def _yes_no(cls, value: Any) -> Any:
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return "true"
        if text in {"0", "false", "no", "off"}:
            return "false"
        return text

    facilities: FacilitiesSection = FacilitiesSection()
    """Which queue takes each telescope's observations (docs/facilities.md)."""

    monitor: MonitorSection = MonitorSection()
    """How each event's queued observations are followed (inline or scheduled)."""

    circulars: CircularsSection = CircularsSection()
    """Who signs the GCN Circular drafts."""

    planning: PlanningSection = PlanningSection()
    """Per-telescope thresholds below which no field is scheduled."""

    galaxies: GalaxiesSection = GalaxiesSection()
    """The galaxy catalogue of telescopes planning in ``galaxies`` mode."""

    roster: Roster = []
    """The people on duty (:class:`tooflow.notify.roster.Person`)."""

    notifications: NotifyConfig = NotifyConfig()
    """The notification channels and their deadlines."""

    listeners: ListenersSection = ListenersSection()
    """The sources of ``tooflow listen``."""

    coincidence: CoincidenceSection = CoincidenceSection()
    """The SNEWS coincidence service."""

    candidates: CandidatesSection = CandidatesSection()
    """The candidate path (alerts, vetting, follow-up)."""

    web: WebSection = WebSection()
    """The web pages: their address, sessions, login rate limit (docs/web.md)."""

    @property
    def resolved_database_url(self) -> str:
        """``database_url``, else the SQLite file under ``home``."""
        return self.database_url or f"sqlite:///{self.home / 'tooflow.sqlite'}"

    @property
    def resolved_skymap_dir(self) -> Path:
        """``skymap_dir``, else ``home/skymaps``."""
        return Path(self.skymap_dir) if self.skymap_dir else self.home / "skymaps"

    @property
    def resolved_programs_file(self) -> Path:
        """``programs_file``, else the programs shipped with tooflow."""
        if self.programs_file:
            return Path(self.programs_file)
        return Path(__file__).parents[1] / "programs.yaml"


#: Settings that can be given as ``TOOFLOW_<NAME>`` variables (the sections cannot).
ENV_SETTINGS = ("home", "database_url", "programs_file", "skymap_dir", "max_notice_bytes",
                "skymap_fetch_timeout", "skymap_fetch_deadline", "skymap_fetch_retries",
                "iers_offline")


#: ``facilities.simulator.url`` from the environment: the simulator ``tooflow listen``
#: serves for itself and the flow runs of its runner (:mod:`tooflow.simulator.local`).
SIMULATOR_URL_ENV = "TOOFLOW_SIMULATOR_URL"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from defaults, the YAML file and the environment.

    The result is kept: the same environment and the same file content give
    the same (frozen) object, parsed and checked once.

    Parameters
    ----------
    environ : dict, optional
        Environment to read (default: :data:`os.environ`).

    Raises
    ------
    ConfigError
        When a value is not allowed: one line per problem, naming where it was
        set (file or variable), the key, the value and what is allowed.
    """
    env = os.environ if environ is None else environ
    home = Path(env.get("TOOFLOW_HOME") or Path.home() / ".tooflow").expanduser()
    config_file = Path(env.get("TOOFLOW_CONFIG") or home / "tooflow.yaml")
    try:
        text = config_file.read_text() if config_file.is_file() else None
    except OSError as exc:
        raise ConfigError(f"{config_file}: cannot be read: {exc}") from None
    variables = tuple((name, env.get(f"TOOFLOW_{name.upper()}")) for name in ENV_SETTINGS)
    return _load(str(home), str(config_file), text, variables, env.get(SIMULATOR_URL_ENV))


@functools.lru_cache(maxsize=32)
def _load(home: str, config_file: str, text: str | None,
          variables: tuple[tuple[str, str | None], ...],
          simulator_url: str | None = None) -> Settings:
    data: dict[str, Any] = {}
    if text is not None:
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{config_file}: not YAML: {exc}".replace("\n", " ")) from None
        if not isinstance(data, dict):
            raise ConfigError(f"{config_file}: expected a mapping of settings, "
                              f"not {type(data).__name__}")
    data.setdefault("home", home)
    where = {key: config_file for key in data}
    for name, value in variables:
        if value is not None:
            data[name] = value
            where[name] = f"TOOFLOW_{name.upper()}"
    if simulator_url:
        facilities = data.get("facilities")
        facilities = dict(facilities) if isinstance(facilities, dict) else {}
        simulator = facilities.get("simulator")
        facilities["simulator"] = {**(simulator if isinstance(simulator, dict) else {}),
                                   "url": simulator_url}
        data["facilities"] = facilities
        where["facilities.simulator.url"] = SIMULATOR_URL_ENV
    if isinstance(data.get("home"), str):
        data["home"] = Path(data["home"]).expanduser()
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError("\n".join(_problem(e, where) for e in exc.errors())) from None


def _problem(error: dict[str, Any], where: dict[str, str]) -> str:
    """One line: where, the key, the value and what is allowed."""
    loc = [str(p) for p in error["loc"]]
    key = ".".join(loc)
    # the most specific key a source is recorded for (a variable may set one key of a section)
    source = next((where[k] for k in (".".join(loc[:i]) for i in range(len(loc), 0, -1))
                   if k in where), "settings")
    kind = error["type"]
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        allowed = _allowed_keys(loc[:-1])
        return (f"{source}: {key}: unknown setting"
                + (f"; allowed: {', '.join(allowed)}" if allowed else ""))
    if kind == "missing":
        return f"{source}: {key}: missing (required)"
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    return f"{source}: {key} = {_short(error.get('input'))}: {message}"


def _short(value: Any) -> str:
    """The value as written, credentials redacted, at most 80 characters."""
    from ..guards.text import redact

    text = redact(repr(value))
    return text if len(text) <= 80 else text[:77] + "..."


def _fields(model: Any) -> dict[str, Any] | None:
    """Name → field of a pydantic model or pydantic dataclass (annotations resolved)."""
    return getattr(model, "model_fields", None) or getattr(model, "__pydantic_fields__", None)


def _allowed_keys(parent: list[str]) -> list[str]:
    """The keys a section at ``parent`` (a path of keys) accepts."""
    model: Any = Settings
    for part in parent:
        fields = _fields(model)
        if fields is None:
            return []
        if part in fields:
            model = _inner(fields[part].annotation)
        else:  # an entry of its own, e.g. facilities.ZTF, or a mapping's value
            model = getattr(model, "entry_model", None) or model
    return list(_fields(model) or [])


def _inner(annotation: Any) -> Any:
    """The model or pydantic dataclass inside ``X | None`` (or ``X`` itself)."""
    from typing import get_args

    if _fields(annotation) is not None and isinstance(annotation, type):
        return annotation
    for arg in get_args(annotation):
        found = _inner(arg)
        if found is not None:
            return found
    return None
