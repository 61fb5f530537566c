"""The typed sections of ``tooflow.yaml``, checked when the settings are loaded.

Each section of the configuration file is a pydantic model: a wrong type, a
value out of range, a value not among those allowed or an unknown key is found
when :func:`tooflow.config.load_settings` runs — when ``tooflow`` starts —
with the key, the value and what is allowed, never later in a flow run.

The defaults here are those of the code that reads each section; the
reference is docs/configuration.md.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PlainValidator,
    PositiveFloat,
    PositiveInt,
    ValidationInfo,
    field_validator,
)

__all__ = [
    "DEFAULT_SPEEDUP",
    "Section",
    "MonitorSection",
    "CircularsSection",
    "AuthorEntry",
    "PlanningSection",
    "GalaxiesSection",
    "SimulatorSection",
    "TelescopeQueueSection",
    "FacilitiesSection",
    "ListenersSection",
    "HopSource",
    "GcnSource",
    "IgwnSource",
    "VOEventSource",
    "CoincidenceSection",
    "CandidatesSection",
    "AssociationSection",
    "FollowupEntry",
    "WebSection",
    "OidcSection",
    "Roster",
]

#: Simulated seconds per wall-clock second of the embedded simulator: a night
#: passes in ~5 s and a two-night plan window in ~25 s, so the demo stays short
#: while its monitor sees observations come in.
DEFAULT_SPEEDUP = 7200.0

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class Section(BaseModel):
    """A section of the file: unknown keys are errors; numbers written for text are text."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class MonitorSection(Section):
    """``monitor``: how each event's queued observations are followed."""

    mode: Literal["inline", "deployment"] = "inline"
    """``inline``: handle-notice polls its event in a ``monitor-event`` sub-flow (the
    embedded default); ``deployment``: handle-notice ends at submission and the
    scheduled ``monitor-events`` deployment polls every watched event (production)."""

    poll_every: PositiveFloat = 300.0
    """Seconds of the facility's clock between two polls of an event: the period of
    ``monitor-events``; an inline monitor waits this divided by the simulator's
    speed-up, at least 2 s of wall clock."""

    max_wall_seconds: NonNegativeFloat | None = None
    """Stop polling after this many seconds whatever the plan window says (0: do not
    wait for observations; the benchmarks use it)."""


class AuthorEntry(Section):
    """One author of the circulars: a name, optionally an affiliation."""

    name: Annotated[str, Field(min_length=1)]
    affiliation: str | None = None


class CircularsSection(Section):
    """``circulars``: who signs the GCN Circular drafts."""

    authors: list[AuthorEntry] = []
    collaboration: str = ""
    acknowledgements: str = ""

    @field_validator("authors", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value


class PlanningSection(Section):
    """``planning``: per-telescope thresholds; first light (docs/planning.md)."""

    min_marginal_probability: dict[str, Fraction] = {}
    first_light: bool = True
    """Queue a fast plan at once (a single pointing, or a sky map's first block
    from the greedy baseline) before the optimal plan; False: the optimal plan only."""
    first_block_minutes: PositiveFloat = 30.0
    """Length of a sky map's first block (min), the part of the window the fast plan covers."""


class _GalaxySource(Section):
    catalog: str | None = None
    tap_url: str | None = None
    table: str | None = None
    columns: list[str] | None = None
    max_distance: PositiveFloat | None = None
    top: PositiveInt | None = None


class GalaxiesSection(_GalaxySource):
    """``galaxies``: the galaxy catalogue of telescopes planning in ``galaxies`` mode.

    Top-level keys apply to every telescope; a key named after a telescope holds
    that telescope's own keys (same names), which win.
    """

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, _GalaxySource] = Field(init=False)  # type: ignore[assignment]
    entry_model: ClassVar[type[Section]] = _GalaxySource

    def for_telescope(self, telescope: str | None) -> dict[str, Any]:
        """The keys that apply to ``telescope`` (those set, as a plain dict)."""
        fields = set(_GalaxySource.model_fields)
        conf = {k: v for k, v in self.model_dump(exclude_none=True).items() if k in fields}
        own = (self.__pydantic_extra__ or {}).get(telescope or "")
        if own is not None:
            conf.update(own.model_dump(exclude_none=True))
        return conf


class SimulatorSection(Section):
    """``facilities.simulator``: the simulator observing telescopes without a queue."""

    url: str = ""
    """A simulator already running (``tooflow simulator serve``); empty: one served
    in the flow's own process."""
    speedup: PositiveFloat = DEFAULT_SPEEDUP
    weather_loss: Fraction = 0.1
    seed: int = 0

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        """An http(s) URL with a host, or empty: refused at start, not at the first submission."""
        from urllib.parse import urlsplit

        if value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("expected an http(s) URL with a host, e.g. "
                                 "http://127.0.0.1:8500, or empty")
        return value


class _SiteSection(Section):
    name: str
    lat: Annotated[float, Field(ge=-90.0, le=90.0)]
    lon: Annotated[float, Field(ge=-180.0, le=360.0)]
    elevation: float = 0.0
    airmass_limit: Annotated[float, Field(ge=1.0)] = 2.5


class TelescopeQueueSection(Section):
    """``facilities.TELESCOPE``: the queue taking a telescope's observations.

    Without ``adapter`` (or with ``adapter: simulator``) the telescope is
    observed by the simulator. The other keys are those of
    :class:`tooflow.facilities.base.FacilityConfig`; a key left out keeps the
    adapter's default. ``extra`` holds the adapter's own keys, checked by its
    model (:attr:`tooflow.facilities.base.Facility.Extra`: ``ZTFExtra``,
    ``DECamExtra``, ``QueueExtra``).
    """

    adapter: str | None = None
    url: str | None = None
    token_env: str | None = None
    timeout: PositiveFloat | None = None
    retries: NonNegativeInt | None = None
    backoff: NonNegativeFloat | None = None
    deadline: PositiveFloat | None = None
    queue_name: str | None = None
    program: str | None = None
    user: str | None = None
    site: _SiteSection | None = None
    tap_url: str | None = None
    extra: Annotated[Any, Field(validate_default=True)] = None
    """The adapter's own keys, typed by its ``Extra`` model once ``adapter`` is known
    (checked even when left out: DECam needs its ``propid``)."""
    # the simulator's own keys, accepted (and ignored) on a telescope's entry
    speedup: PositiveFloat | None = None
    weather_loss: Fraction | None = None
    seed: int | None = None

    @field_validator("adapter")
    @classmethod
    def _known_adapter(cls, value: str | None) -> str | None:
        if value is None or value.lower() == "simulator":
            return value
        from ..facilities import facility_names

        names = facility_names()
        if value.lower() not in {n.lower() for n in names}:
            raise ValueError(f"allowed: {', '.join(names)}")
        return value

    @field_validator("extra")
    @classmethod
    def _adapter_keys(cls, value: Any, info: ValidationInfo) -> Any:
        if "adapter" not in info.data:
            return value  # the adapter is wrong: that is the error to show
        from ..facilities import facility_class

        typed = facility_class(info.data["adapter"] or "simulator").Extra.of(value)
        return None if value is None else typed

    @property
    def is_real_queue(self) -> bool:
        """True when an adapter other than the simulator is named."""
        return bool(self.adapter) and self.adapter.lower() != "simulator"

    def facility_config(self) -> dict[str, Any]:
        """The keys set for :class:`~tooflow.facilities.base.FacilityConfig` (a plain dict)."""
        skip = {"adapter", "speedup", "weather_loss", "seed"}
        return {k: v for k, v in self.model_dump(exclude_none=True).items() if k not in skip}


class FacilitiesSection(Section):
    """``facilities``: ``simulator`` and one entry per telescope with its own queue."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, TelescopeQueueSection] = Field(init=False)  # type: ignore[assignment]
    entry_model: ClassVar[type[Section]] = TelescopeQueueSection

    simulator: SimulatorSection = SimulatorSection()

    def telescope(self, name: str) -> TelescopeQueueSection:
        """The entry of telescope ``name`` (an empty one when it has none)."""
        return (self.__pydantic_extra__ or {}).get(name) or TelescopeQueueSection()


class _Source(Section):
    """A listener source: a key left out (None) keeps the source's own default."""

    def as_mapping(self) -> dict[str, Any]:
        """The keys set, as the plain mapping the source's builder reads."""
        return self.model_dump(exclude_none=True)


class _KafkaSource(_Source):
    group_id: str | None = None
    start_at: Literal["earliest", "latest"] | None = None
    batch_size: PositiveInt | None = None
    kafka: dict[str, Any] | None = None
    """Extra librdkafka settings (``{"session.timeout.ms": 10000}``)."""


class HopSource(_KafkaSource):
    """``listeners.hop``: SCiMMA Hopskotch (hop-client's ``auth.toml``)."""

    url: str | None = None
    auth: bool | str | None = None
    """True: hop's ``auth.toml``; false: no authentication; text: another auth file."""
    username: str | None = None


class GcnSource(_KafkaSource):
    """``listeners.gcn``: NASA GCN Kafka (``TOOFLOW_GCN_CLIENT_ID``/``_SECRET``)."""

    topics: list[str] | None = None
    domain: str | None = None
    no_auth: bool | None = None


class IgwnSource(_KafkaSource):
    """``listeners.igwn``: GraceDB's igwn-alert, as the igwn-alert CLI."""

    group: str | None = None
    topics: list[str] | None = None
    consumer_group: str | None = None
    server: str | None = None
    port: Annotated[int, Field(gt=0, lt=65536)] | None = None
    batch_timeout: PositiveFloat | None = None
    no_auth: bool | None = None
    authfile: str | None = None
    netrc: str | None = None
    username: str | None = None


class VOEventSource(_Source):
    """``listeners.voevent``: VOEvent TCP (pygcn's protocol)."""

    host: str | list[str] | None = None
    port: int | list[int] | None = None
    ivorn: str | None = None
    iamalive_timeout: PositiveFloat | None = None
    max_reconnect_timeout: PositiveFloat | None = None
    max_packet_bytes: PositiveInt | None = None
    packet_timeout: PositiveFloat | None = None


class ListenersSection(Section):
    """``listeners``: the sources of ``tooflow listen`` and how it runs.

    Credentials, hosts and ports are checked again by each source when
    ``tooflow listen`` builds it, before anything connects.
    """

    hop: HopSource | None = None
    gcn: GcnSource | None = None
    igwn: IgwnSource | None = None
    voevent: VOEventSource | None = None
    deployment: str | None = None
    """Deployment that handles a notice; default ``handle-notice/handle-notice``."""
    status_interval: PositiveFloat = 5.0
    trigger_workers: NonNegativeInt = 4
    """Threads handing notices to Prefect (0: one at a time, inline)."""
    reconcile_interval: NonNegativeFloat = 30.0
    """Seconds between reconciler passes; 0 turns the reconciler off."""
    check_timeout: PositiveFloat = 10.0
    first_light: bool = True
    """Run first light in the listener's own (warm) process right after storing a
    notice of a new event, before triggering handle-notice (docs/planning.md,
    *First light from the listener*); needs ``planning.first_light``."""
    first_light_deadline: PositiveFloat = 30.0
    """Total seconds the listener's first light of one notice may take before the
    flow is triggered all the same (the flow then plans first light itself)."""

    def sources(self) -> dict[str, dict[str, Any]]:
        """The configured sources, by name."""
        return {name: conf.as_mapping() for name in ("hop", "gcn", "igwn", "voevent")
                if (conf := getattr(self, name)) is not None}


class CoincidenceSection(Section):
    """``coincidence``: the SNEWS coincidence service (``tooflow coincidence``).

    Besides the keys below, the section takes the keys of a hop Kafka source
    (``url``, ``group_id``, ``auth``, ``username``, ``kafka``, ...), checked
    when the service builds its consumer.
    """

    model_config = ConfigDict(extra="allow")

    url: str | None = None
    alert_url: str | None = None
    window: PositiveFloat = 10.0
    lifetime: PositiveFloat = 86400.0
    rules: Literal["tooflow", "snews_cs"] = "tooflow"
    server_tag: str = "tooflow"
    inject: bool = True
    notify: bool = True

    def kafka_conf(self) -> dict[str, Any]:
        """The section as the plain mapping the Kafka consumer and producer read."""
        return self.model_dump(exclude_none=True)


class AssociationSection(Section):
    """``candidates.association``: which candidates belong to an event
    (:func:`tooflow.candidates.association.associate`)."""

    level: Annotated[float, Field(gt=0.0, le=1.0)] = 0.9
    """Credible level of the region a candidate must be in."""
    margin_days: NonNegativeFloat = 0.0
    """A detection earlier than the event time minus this disqualifies."""


class FollowupEntry(Section):
    """``candidates.followup.FACILITY``: what a vetting action asks that facility for."""

    kind: Literal["photometry", "spectroscopy"] = "photometry"
    filter: str | None = None
    """Filter of the exposure (default ``r``; a spectrograph's ``spec``)."""
    exposure_time: PositiveFloat = 300.0
    """Seconds."""


class CandidatesSection(Section):
    """``candidates``: the candidate path (:class:`tooflow.candidates.config.CandidateConfig`,
    whose defaults apply to the keys left out)."""

    max_alert_bytes: PositiveInt | None = None
    notify_threshold: float | None = None
    kafka: dict[str, Any] | None = None
    batch_size: PositiveInt | None = None
    batch_seconds: PositiveFloat | None = None
    reparse_every: PositiveFloat | None = None
    """Seconds between the listener's passes over stored-but-unparsed alerts."""
    followup: dict[str, FollowupEntry] | None = None
    """Facilities a vetting action may request follow-up from, each with its entry."""
    top: PositiveInt | None = None
    ranking: dict[str, float] | None = None
    """Weights of the ranking factors and the listing threshold
    (:class:`tooflow.candidates.weights.RankingWeights`; docs/candidates-drill.md)."""
    association: AssociationSection | None = None

    @field_validator("ranking")
    @classmethod
    def _known_weights(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None:
            from ..candidates.weights import RankingWeights

            RankingWeights.from_config(value)  # unknown keys and non-numbers are errors
        return value


class OidcSection(Section):
    """``web.oidc``: single sign-on through an institution's OpenID Connect provider."""

    issuer: Annotated[str, Field(min_length=1)]
    """The provider (``https://login.example.edu/realms/astro``); its
    ``/.well-known/openid-configuration`` says the rest."""

    client_id: Annotated[str, Field(min_length=1)]
    """tooflow's client id at the provider."""

    client_secret_env: str = "TOOFLOW_OIDC_CLIENT_SECRET"
    """Environment variable holding the client secret (never in the file)."""

    scope: str = "openid email profile"
    label: str = "single sign-on"
    """What the login button says: "Log in with <label>"."""

    create_users: bool = False
    """Create a user (``default_role``) for an identity tooflow does not know."""

    default_role: Literal["viewer", "duty", "admin"] = "viewer"
    timeout: PositiveFloat = 10.0
    """Seconds per read from the provider."""

    deadline: PositiveFloat = 30.0
    """Seconds per call to the provider in all."""


class WebSection(Section):
    """``web``: the web pages (``tooflow web serve``; docs/web.md)."""

    url: str = ""
    """The address people open (links in notifications), e.g.
    ``https://marshal.example.org``; empty: ``http://host:port``."""

    host: str = "127.0.0.1"
    """Interface ``tooflow web serve`` listens on."""

    port: Annotated[int, Field(ge=1, le=65535)] = 8400
    """Its TCP port."""

    session_hours: PositiveFloat = 12.0
    """A login lasts this long (a night's shift)."""

    cookie_secure: bool = False
    """Send the session cookie over HTTPS only: set it behind TLS (production)."""

    login_attempts: PositiveInt = 5
    """Failed logins of one user name (four times as many from one address) ..."""

    login_window_minutes: PositiveFloat = 15.0
    """... within this many minutes, after which logins are refused until it passes."""

    oidc: OidcSection | None = None
    """Single sign-on (OpenID Connect); none: user names and passwords only."""

    @property
    def base_url(self) -> str:
        """The address people open: ``url``, else ``http://host:port``."""
        return (self.url or f"http://{self.host}:{self.port}").rstrip("/")


def _roster(value: Any) -> list:
    from ..notify.roster import Person, load_roster

    if isinstance(value, list) and all(isinstance(p, Person) for p in value):
        return value
    return load_roster(value)


#: ``roster``: the people on duty (:func:`tooflow.notify.roster.load_roster`).
Roster = Annotated[list, PlainValidator(_roster)]
