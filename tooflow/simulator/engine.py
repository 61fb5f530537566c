"""The simulated observatory: queues, an accelerated clock, a greedy scheduler.

The simulated clock runs ``speedup`` times faster than the wall clock from a
chosen start (``sim = start + speedup × wall elapsed``). Each queue name is one
telescope that observes one request at a time. The state is advanced lazily,
whenever the service is asked anything, up to the current simulated time, so a
run is reproducible for a given seed and sequence of calls:

1. a running exposure finishes at start + exposure time; it is then
   either *completed* (an executed observation with a limiting magnitude from
   the catalogue's depth model, :func:`tooflow.telescopes.depth.limiting_magnitude`,
   under the airmass, Sun and Moon of its start, plus a seeded N(0, 0.15 mag)
   scatter) or
   *failed* ("weather"), with probability ``weather_loss`` drawn from a
   generator seeded by (seed, request key);
2. the telescope then takes, among the queued requests observable once it is
   ready for them — the end of the last exposure plus the catalogue's dead time
   to them (:class:`tooflow.telescopes.ExposureTiming`: overhead, then the longer
   of the readout and the slew, plus a filter change), the one the planner plans
   with, so a plan is observed on its own timeline — (Sun
   below the catalogue telescope's limit, −12°; airmass under the queue's
   limit; the catalogue's Moon distance and hour-angle limits, as planned;
   inside the validity window),
   the one planned earliest (then the first submitted), never before its planned
   start time (so the plan's visit gaps are kept);
3. when none is observable it waits for the next grid time one is; a request
   that can no longer be observed before its window closes is *failed*
   ("unobservable" if it was never observable, "expired" otherwise).

Submission is idempotent by request key: a key already known is not queued
again (a cancelled key is re-queued, since it never ran).

Request payload (``POST /queues/{name}/requests``; built by
:class:`tooflow.facilities.queue.JsonQueueFacility`)::

    {"queue_name": "...", "event_id": "...", "program": "...", "user": "...",
     "telescope": "ZTF",
     "validity_window": {"start": ISO, "end": ISO},
     "site": {"name", "lat", "lon", "elevation", "airmass_limit"},
     "instrument": {"overhead": s, "depth": {"r": mag}, "reference_exposure": s},
     "targets": [{"request_key", "ra", "dec", "filter", "exposure_time",
                  "field_id", "target", "start_time", "probability", "visit",
                  "band" (optional: the filter's catalogue name when "filter" is the
                  queue's own, as KPED's "rs")}]}

``instrument`` is optional: for a telescope of the catalogue
(:mod:`tooflow.telescopes`) the overhead, depth zero points, reference exposure,
dark sky and extinction are the catalogue's; what ``instrument`` gives replaces
them (a queue configuration's overrides). Another telescope gets a 30 s
overhead (no readout or slew of its own) and :data:`DEFAULT_DEPTH` unless
``instrument`` says otherwise.
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from tooflow.simulator.sky import VisibilityGrid, visibility_grids
from tooflow.telescopes import ExposureTiming, find_telescope
from tooflow.telescopes.depth import depth_from_zero_point

__all__ = ["Simulator", "SimRequest", "parse_time", "DEFAULT_DEPTH"]

#: No telescope spends longer than this between two exposures (a slew across the
#: sky at DECam's 0.3 deg/s takes 10 min): requests due later cannot start next.
_LONGEST_DEAD_TIME = dt.timedelta(hours=1)

#: The order a queue takes its requests in: planned earliest, then first submitted.
_PLANNED_ORDER = operator.attrgetter("planned_start", "seq")

#: Depth (mag, 5 sigma, dark zenith sky, reference exposure) used for a telescope
#: outside the catalogue when the request names no depth for its filter.
DEFAULT_DEPTH = 20.5


def parse_time(value: str | dt.datetime) -> dt.datetime:
    """ISO 8601 text or datetime → timezone-aware UTC datetime (naive means UTC)."""
    if isinstance(value, dt.datetime):
        t = value
    else:
        try:
            t = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"not an ISO 8601 time: {value!r}") from exc
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC)


def _iso(t: dt.datetime | None) -> str | None:
    return None if t is None else t.astimezone(dt.UTC).isoformat()


@dataclass
class SimRequest:
    """One queued observation inside the simulator."""

    key: str
    queue: str
    queue_id: str
    seq: int
    ra: float
    dec: float
    filter: str
    exposure_time: float
    timing: ExposureTiming
    depth: float
    reference_exposure: float
    window_start: dt.datetime
    window_end: dt.datetime
    submitted: dt.datetime
    planned_start: dt.datetime
    telescope: str = ""
    band: str = ""
    dark_sky: float | None = None
    extinction: float | None = None
    event_id: str = ""
    program: str = ""
    field_id: int | None = None
    target: str | None = None
    status: str = "queued"
    detail: str = ""
    grid: VisibilityGrid | None = None
    obs_start: dt.datetime | None = None
    obs_end: dt.datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def overhead(self) -> float:
        """Seconds per exposure besides the exposure (the catalogue's, or the queue's own)."""
        return self.timing.overhead

    def as_dict(self) -> dict[str, Any]:
        """The JSON a client sees for this request."""
        return {"request_key": self.key, "queue_name": self.queue, "queue_id": self.queue_id,
                "status": self.status, "detail": self.detail, "telescope": self.telescope,
                "event_id": self.event_id, "field_id": self.field_id, "target": self.target,
                "ra": self.ra, "dec": self.dec, "filter": self.filter,
                "exposure_time": self.exposure_time, "submitted": _iso(self.submitted),
                "obs_start": _iso(self.obs_start), "obs_end": _iso(self.obs_end)}


@dataclass
class _Queue:
    name: str
    cursor: dt.datetime
    requests: list[SimRequest] = field(default_factory=list)
    current: SimRequest | None = None
    #: The last exposure: ``(ra, dec, filter)`` and when it ended (its dead time follows).
    last: tuple[float, float, str] | None = None
    last_end: dt.datetime | None = None

    def start_of(self, r: SimRequest, t: dt.datetime) -> dt.datetime:
        """When the telescope can start ``r``, from ``t`` on: after its last exposure's
        dead time (the catalogue's, the planner's: :meth:`ExposureTiming.between`)."""
        if self.last is None or self.last_end is None:
            return t
        wait = r.timing.between(self.last, r.ra, r.dec, r.filter)
        return max(t, self.last_end + dt.timedelta(seconds=wait))


class Simulator:
    """An in-memory telescope network observing in accelerated time.

    Parameters
    ----------
    speedup : float
        Simulated seconds per wall-clock second.
    weather_loss : float
        Probability (0–1) that an exposure is lost to weather or a fault.
    seed : int
        Seed of the loss and depth-scatter draws.
    start : datetime.datetime, optional
        Simulated time at creation; default: the current UTC time.
    grid_step : float
        Visibility grid spacing, simulated seconds.
    default_window : float
        Validity window when a request gives none, simulated seconds.
    clock : callable
        Wall clock in seconds (``time.monotonic``); tests may pass their own.
    restart_when_idle : bool
        At a submission while no request is queued or executing, restart the
        clock at the present UTC time (:meth:`restart_if_idle`): a simulator
        serving a long-lived process (``tooflow listen``) would otherwise run
        years ahead of the plans it is sent.
    """

    def __init__(self, *, speedup: float = 60.0, weather_loss: float = 0.1, seed: int = 0,
                 start: dt.datetime | None = None, grid_step: float = 300.0,
                 default_window: float = 86400.0,
                 clock: Callable[[], float] = time.monotonic,
                 restart_when_idle: bool = False):
        if speedup <= 0:
            raise ValueError(f"speedup must be positive, got {speedup}")
        if not 0.0 <= weather_loss <= 1.0:
            raise ValueError(f"weather_loss must be within [0, 1], got {weather_loss}")
        self.speedup = float(speedup)
        self.weather_loss = float(weather_loss)
        self.seed = int(seed)
        self.start = parse_time(start) if start is not None else dt.datetime.now(dt.UTC)
        self.grid_step = float(grid_step)
        self.default_window = float(default_window)
        self._clock = clock
        self._wall0 = clock()
        self.restart_when_idle = bool(restart_when_idle)
        #: How many times the clock restarted (:meth:`restart_if_idle`).
        self.restarts = 0
        self._lock = threading.RLock()
        self._queues: dict[str, _Queue] = {}
        self._by_key: dict[str, SimRequest] = {}
        self._executed: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._seq = itertools.count(1)
        self._expids = itertools.count(1)
        #: The transient sky each executed exposure is shown to (None: no alerts);
        #: see :meth:`show_sky` and docs/candidates-drill.md.
        self.sky = None
        self._alerts: list[Any] = []

    # -- clock ---------------------------------------------------------------
    def warm_up(self) -> float:
        """Load astropy's ephemerides and Earth-orientation tables now, then restart the clock.

        The first visibility computation of a process takes seconds (reading
        IERS tables); at a high speed-up that would cost simulated hours on the
        first submission. Call this before serving. The clock restarts only if
        nothing was submitted yet. Returns the wall-clock seconds spent.
        """
        t0 = self._clock()
        visibility_grids(np.array([0.0]), np.array([0.0]), lat=0.0, lon=0.0, elevation=0.0,
                         start=self.start, end=self.start + dt.timedelta(hours=1),
                         airmass_limit=2.0, step=self.grid_step)
        with self._lock:
            if not self._by_key:
                self._wall0 = self._clock()
        return self._clock() - t0

    def restart_if_idle(self, now: dt.datetime | None = None) -> bool:
        """Restart the clock at ``now`` (default: the present UTC time) if nothing is open.

        Nothing queued or executing: every request has ended, so no exposure's
        timing depends on the old clock; each telescope is free (its last
        exposure forgotten). Earlier requests and exposures keep their states
        and times. Returns True when it restarted.
        """
        with self._lock:
            self._advance(self.now())
            if any(r.status in ("queued", "executing") for r in self._by_key.values()):
                return False
            self.start = parse_time(now) if now is not None else dt.datetime.now(dt.UTC)
            self._wall0 = self._clock()
            for queue in self._queues.values():
                queue.cursor, queue.current = self.start, None
                queue.last = queue.last_end = None
            self.restarts += 1
            return True

    def now(self) -> dt.datetime:
        """Current simulated time, UTC."""
        elapsed = (self._clock() - self._wall0) * self.speedup
        return self.start + dt.timedelta(seconds=elapsed)

    # -- public operations (each advances the simulation first) --------------
    def submit(self, queue_name: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """Queue the targets of one request; known keys are not queued twice.

        Returns
        -------
        list of dict
            Per target: the request's state plus ``created`` (bool).

        Raises
        ------
        ValueError
            For a malformed payload, naming the problem.
        """
        with self._lock:
            if self.restart_when_idle:
                self.restart_if_idle()
            now = self.now()
            self._advance(now)
            new = self._parse(queue_name, payload, now)
            fresh = [r for r in new if r.key not in self._by_key
                     or self._by_key[r.key].status == "cancelled"]
            self._compute_grids(fresh, payload["site"])
            queue = self._queues.get(queue_name)
            if queue is None:
                queue = self._queues[queue_name] = _Queue(queue_name, cursor=now)
            created: set[str] = set()
            for req in fresh:
                old = self._by_key.get(req.key)
                if old is not None:  # re-queue a cancelled request: it never ran
                    self._queues[old.queue].requests.remove(old)
                    req.detail = "re-queued after cancellation"
                self._by_key[req.key] = req
                queue.requests.append(req)
                created.add(req.key)
            self._advance(now)
            return [{**self._by_key[r.key].as_dict(), "created": r.key in created}
                    for r in new]

    def status(self, keys: Iterable[str]) -> list[dict[str, Any]]:
        """State of each key (``status: "unknown"`` for a key never submitted)."""
        with self._lock:
            self._advance(self.now())
            return [self._by_key[k].as_dict() if k in self._by_key
                    else {"request_key": k, "status": "unknown", "detail": "no such request"}
                    for k in keys]

    def cancel(self, key: str) -> dict[str, Any] | None:
        """Cancel a queued request; running or finished requests are left as they are.

        Returns None for an unknown key.
        """
        with self._lock:
            self._advance(self.now())
            req = self._by_key.get(key)
            if req is None:
                return None
            if req.status == "queued":
                req.status, req.detail = "cancelled", f"cancelled at {_iso(self.now())}"
            elif req.status == "executing":
                req.detail = "exposure already running; not cancelled"
            return req.as_dict()

    def executed(self, since: dt.datetime | None = None) -> list[dict[str, Any]]:
        """Executed observations with ``obs_time`` after ``since``, in completion order."""
        with self._lock:
            self._advance(self.now())
            since = parse_time(since) if since is not None else None
            return [{k: v for k, v in e.items() if k != "_obs_time"} for e in self._executed
                    if since is None or e["_obs_time"] > since]

    def health(self) -> dict[str, Any]:
        """Clock, settings and per-queue counts by status."""
        with self._lock:
            now = self.now()
            self._advance(now)
            queues = {}
            for name, q in self._queues.items():
                counts: dict[str, int] = {}
                for r in q.requests:
                    counts[r.status] = counts.get(r.status, 0) + 1
                queues[name] = counts
            return {"ok": True, "clock": _iso(now), "speedup": self.speedup,
                    "weather_loss": self.weather_loss, "seed": self.seed, "queues": queues,
                    "executed": len(self._executed)}

    # -- internals -----------------------------------------------------------
    def _parse(self, queue_name: str, payload: dict[str, Any], now: dt.datetime,
               ) -> list[SimRequest]:
        if not isinstance(payload, dict):
            raise ValueError("request body must be a JSON object")
        targets = payload.get("targets")
        if not isinstance(targets, list) or not targets:
            raise ValueError("'targets' must be a non-empty list")
        site = payload.get("site")
        if not isinstance(site, dict) or "lat" not in site or "lon" not in site:
            raise ValueError("'site' with 'lat' and 'lon' (degrees) is required")
        if not -90 <= float(site["lat"]) <= 90:
            raise ValueError(f"site latitude out of range: {site['lat']}")
        instrument = payload.get("instrument") or {}
        depths = instrument.get("depth") or {}
        telescope = str(payload.get("telescope") or queue_name)
        tel = find_telescope(telescope)
        timing = tel.timing if tel else ExposureTiming(overhead=30.0, slew_rate=float("inf"))
        if instrument.get("overhead") is not None:
            timing = replace(timing, overhead=float(instrument["overhead"]))
        window = payload.get("validity_window") or {}
        w_start = parse_time(window["start"]) if window.get("start") else now
        w_end = (parse_time(window["end"]) if window.get("end")
                 else max(now, w_start) + dt.timedelta(seconds=self.default_window))
        if w_end <= w_start:
            raise ValueError(f"validity window ends ({w_end}) before it starts ({w_start})")
        out = []
        seen: set[str] = set()
        for i, t in enumerate(targets):
            try:
                key = str(t["request_key"])
                ra, dec = float(t["ra"]), float(t["dec"])
                filt = str(t["filter"])
                exptime = float(t["exposure_time"])
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"target {i}: missing or invalid {exc}") from None
            if not key or key in seen:
                raise ValueError(f"target {i}: empty or repeated request_key {key!r}")
            seen.add(key)
            if not (0 <= ra < 360 and -90 <= dec <= 90):
                raise ValueError(f"target {key}: position out of range ({ra}, {dec})")
            if exptime <= 0:
                raise ValueError(f"target {key}: exposure_time must be positive")
            planned = parse_time(t["start_time"]) if t.get("start_time") else w_start
            band = str(t.get("band") or filt)
            zero_point = depths.get(filt, depths.get(band))
            if zero_point is None and tel is not None and band in tel.zenith_dark:
                zero_point = tel.zero_point(band)
            if zero_point is None:
                zero_point = instrument.get("default_depth", DEFAULT_DEPTH)
            reference = instrument.get("reference_exposure",
                                       tel.reference_exposure if tel else exptime)
            out.append(SimRequest(
                key=key, queue=queue_name, queue_id=f"{queue_name}-{next(self._ids)}",
                seq=next(self._seq), ra=ra, dec=dec, filter=filt, exposure_time=exptime,
                timing=timing, depth=float(zero_point),
                reference_exposure=float(reference), band=band,
                dark_sky=tel.dark_sky(band) if tel else None,
                extinction=tel.extinction(band) if tel else None,
                window_start=w_start, window_end=w_end, submitted=now, planned_start=planned,
                telescope=telescope,
                event_id=str(payload.get("event_id") or ""),
                program=str(payload.get("program") or ""),
                field_id=None if t.get("field_id") is None else int(t["field_id"]),
                target=t.get("target"),
                extra={"site": dict(site)}))
        return out

    def _compute_grids(self, reqs: list[SimRequest], site: dict[str, Any]) -> None:
        if not reqs:
            return
        # Requests of one payload share the window: one vectorised astropy call.
        start = max(reqs[0].window_start, reqs[0].submitted)
        end = reqs[0].window_end
        if end <= start:
            for r in reqs:
                r.status, r.detail = "failed", "expired: validity window already over"
            return
        grids = visibility_grids(
            np.array([r.ra for r in reqs]), np.array([r.dec for r in reqs]),
            lat=float(site["lat"]), lon=float(site["lon"]),
            elevation=float(site.get("elevation", 0.0)), start=start, end=end,
            airmass_limit=float(site.get("airmass_limit", 2.5)), step=self.grid_step,
            **self._limits(reqs[0].telescope))
        for r, g in zip(reqs, grids, strict=True):
            r.grid = g

    @staticmethod
    def _limits(telescope: str) -> dict[str, Any]:
        """The catalogue's observing limits of a telescope (Sun, Moon, hour angle),
        the ones the planner plans with; none beyond night at −12° for another."""
        tel = find_telescope(telescope)
        if tel is None:
            return {}
        return {"sun_altitude_limit": tel.sun_altitude, "moon_distance": tel.moon_distance,
                "hour_angle_limits": tel.hour_angle_limits}

    def _advance(self, now: dt.datetime) -> None:
        for queue in self._queues.values():
            self._advance_queue(queue, now)

    def _advance_queue(self, q: _Queue, now: dt.datetime) -> None:
        while True:
            if q.current is not None:
                if q.current.obs_end > now:
                    return
                self._finish(q.current)
                q.cursor = q.last_end = q.current.obs_end
                q.last = (q.current.ra, q.current.dec, q.current.filter)
                q.current = None
            t = q.cursor
            if t >= now:
                return
            pending = [r for r in q.requests if r.status == "queued" and r.submitted <= t]
            for r in pending:
                self._expire_if_hopeless(r, t)
            pending = [r for r in pending if r.status == "queued"]
            # the telescope takes the request planned earliest among those it can
            # start once it has read out, slewed and changed filter after the last
            # exposure (the planner's dead time); only requests due within the hour
            # can be ready (no dead time is longer)
            horizon = max(t, q.last_end or t) + _LONGEST_DEAD_TIME
            near = sorted((r for r in pending
                           if max(r.window_start, r.planned_start) <= horizon),
                          key=_PLANNED_ORDER)
            starts: dict[str, dt.datetime] = {}
            chosen = None
            for r in near:
                starts[r.key] = q.start_of(r, t)
                if self._can_start(r, starts[r.key]):
                    chosen = r
                    break
            if chosen is not None:
                r = chosen
                r.status, r.detail = "executing", ""
                r.obs_start = starts[r.key]
                r.obs_end = r.obs_start + dt.timedelta(seconds=r.exposure_time)
                q.current = r
                continue
            nexts = [self._next_visible(r, t) for r in pending]
            nexts = [n for n in nexts if n is not None and n > t]
            # ... or once it is ready for one and its planned start has come
            # (a plan's start times are kept to the second, not to the visibility grid)
            soonest = (max(starts.get(r.key, t), r.planned_start, r.window_start)
                       for r in pending)  # none of ``near`` was ready: each has its start
            nexts += [s for s in soonest if s > t]
            q.cursor = min([*nexts, now])

    @staticmethod
    def _next_visible(r: SimRequest, t: dt.datetime) -> dt.datetime | None:
        # Queue time only moves forward, so the answer stays valid until t passes it.
        cached = r.extra.get("next_visible", False)
        if cached is None or (cached is not False and cached >= t):
            return cached
        r.extra["next_visible"] = r.grid.next_visible(max(t, r.window_start, r.planned_start))
        return r.extra["next_visible"]

    @staticmethod
    def _can_start(r: SimRequest, t: dt.datetime) -> bool:
        # Not before its planned start: the plan's timing (e.g. the gap between the
        # g and r visits of a field) is kept, as a queue that honours start times does.
        return (max(r.window_start, r.planned_start) <= t < r.window_end
                and r.grid.visible_at(t))

    def _expire_if_hopeless(self, r: SimRequest, t: dt.datetime) -> None:
        if t < r.window_end:
            if self._can_start(r, t):
                return
            nxt = self._next_visible(r, t)
            if nxt is not None and nxt < r.window_end:
                return
        r.status = "failed"
        if r.grid is not None and not r.grid.visible.any():
            site = r.extra["site"]
            best = r.grid.best_airmass
            why = ("never above the horizon at night" if best == float("inf")
                   else f"best night-time airmass {best:.2f}")
            r.detail = (f"unobservable: from {site.get('name') or 'the site'} before "
                        f"{_iso(r.window_end)} ({self._limits_text(r, site)}): {why}")
        else:
            r.detail = f"expired: not observed before the window closed at {_iso(r.window_end)}"

    def _limits_text(self, r: SimRequest, site: dict[str, Any]) -> str:
        limits = self._limits(r.telescope)
        parts = [f"airmass limit {site.get('airmass_limit', 2.5)}",
                 f"Sun below {limits.get('sun_altitude_limit', -12.0):g} deg"]
        if limits.get("moon_distance"):
            parts.append(f"Moon at least {limits['moon_distance']:g} deg away")
        if limits.get("hour_angle_limits"):
            lo, hi = limits["hour_angle_limits"]
            parts.append(f"hour angle {lo:g}..{hi:g} h")
        return ", ".join(parts)

    def _finish(self, r: SimRequest) -> None:
        rng = random.Random(f"{self.seed}:{r.key}")
        lost = rng.random() < self.weather_loss
        jitter = rng.gauss(0.0, 0.15)
        if lost:
            r.status = "failed"
            r.detail = f"weather: exposure at {_iso(r.obs_start)} lost to clouds/fault"
            return
        sky = r.grid.conditions_at(r.obs_start)
        airmass = sky["airmass"]
        maglim = round(float(depth_from_zero_point(
            r.depth, r.reference_exposure, r.band or r.filter, r.exposure_time, airmass,
            moon_illumination=sky["moon_illumination"], moon_separation=sky["moon_separation"],
            moon_altitude=sky["moon_altitude"], sun_altitude=sky["sun_altitude"],
            dark_sky=r.dark_sky, extinction=r.extinction)) + jitter, 3)
        r.status, r.detail = "completed", ""
        from astropy.time import Time

        self._executed.append({
            "request_key": r.key, "queue_name": r.queue, "queue_id": r.queue_id,
            "telescope": r.telescope, "event_id": r.event_id, "program": r.program,
            "field_id": r.field_id, "target": r.target, "ra": r.ra, "dec": r.dec,
            "filter": r.filter, "exposure_time": r.exposure_time,
            "obs_time": _iso(r.obs_start), "obsjd": float(Time(r.obs_start).jd),
            "airmass": round(airmass, 4), "limiting_magnitude": maglim,
            "expid": next(self._expids), "_obs_time": r.obs_start})
        if self.sky is not None:
            self._alerts.extend(self.sky.observe(self._executed[-1]))

    # -- the transient sky (alerts) -------------------------------------------
    def show_sky(self, sky: Any) -> None:
        """Show every exposure executed from now on to ``sky``
        (a :class:`~tooflow.simulator.transients.TransientSky`): its detections
        become the simulator's alerts."""
        with self._lock:
            self.sky = sky

    def alerts(self, since: dt.datetime | None = None) -> list[Any]:
        """Detections (:class:`~tooflow.simulator.transients.Detection`) of exposures
        started after ``since``, in time order."""
        with self._lock:
            self._advance(self.now())
            if since is None:
                return list(self._alerts)
            jd = 2440587.5 + parse_time(since).timestamp() / 86400.0
            return [d for d in self._alerts if d.jd > jd]
