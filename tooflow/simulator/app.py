"""The simulator's HTTP API (FastAPI).

FastAPI (installed with Prefect, served by uvicorn) rather than
``http.server``: routing with typed path/query parameters, JSON bodies and
error answers come for free, uvicorn stops cleanly from another thread (the
in-process helper used by the tests and the demo), and the same app serves
the queue API and the TAP endpoint.

Endpoints
---------
``POST /queues/{name}/requests``   queue targets (idempotent by request key)
``GET /requests?keys=K&keys=K2``   state of requests
``DELETE /requests/{key}``         cancel a queued request
``GET /executed?since=ISO``        executed observations
``GET /health``                    clock and counts
``POST /injections``               put a counterpart on the simulated sky (an
                                   :class:`~tooflow.simulator.injection.Injection`)
``GET /injections``                the injections, as recorded
``GET /alerts?since=ISO``          alerts of the exposures since then: ZTF Avro
                                   packets (base64), see docs/candidates-drill.md
``GET /detections?since=ISO``      the same detections as JSON rows (no packets)
``GET /alerts/{candid}``           one alert: its ZTF Avro packet
``GET|POST /tap/sync``             TAP sync query (ADQL subset) → VOTable
``GET /tap/capabilities``, ``/tap/tables``, ``/tap/availability``  VOSI
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from tooflow.simulator import tap
from tooflow.simulator.engine import Simulator, parse_time

__all__ = ["create_app"]

_VOTABLE = "application/x-votable+xml"


def create_app(simulator: Simulator) -> FastAPI:
    """The ASGI application serving ``simulator``."""
    app = FastAPI(title="tooflow telescope simulator",
                  description="Accelerated-time telescope queues for tooflow.")
    app.state.simulator = simulator

    @app.post("/queues/{name}/requests")
    async def submit(name: str, request: Request) -> dict[str, Any]:
        try:
            payload = await request.json()
        except ValueError:
            raise HTTPException(400, "request body is not valid JSON") from None
        try:
            # astropy work takes a while: keep the event loop free for other clients
            results = await run_in_threadpool(simulator.submit, name, payload)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        return {"queue_name": name, "results": results}

    @app.get("/requests")
    def status(keys: list[str] = Query(default=[])) -> dict[str, Any]:  # noqa: B008
        return {"requests": simulator.status(keys)}

    @app.delete("/requests/{key:path}")
    def cancel(key: str) -> dict[str, Any]:
        result = simulator.cancel(key)
        if result is None:
            raise HTTPException(404, f"no such request: {key}")
        return result

    @app.get("/executed")
    def executed(since: str | None = None) -> dict[str, Any]:
        try:
            t = parse_time(since) if since else None
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        return {"clock": simulator.now().isoformat(), "executed": simulator.executed(t)}

    @app.get("/health")
    def health() -> dict[str, Any]:
        return simulator.health()

    @app.post("/injections")
    async def inject(request: Request) -> dict[str, Any]:
        from tooflow.simulator.feed import arm_injection
        from tooflow.simulator.injection import Injection

        try:
            body = await request.json()
            injection = Injection(**body)
        except (ValueError, TypeError) as exc:
            raise HTTPException(400, f"not an injection record: {exc}") from None
        try:
            arm_injection(simulator, injection)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        return {"injections": [i.__dict__ for i, _ in simulator.sky.injections]}

    @app.get("/injections")
    def injections() -> dict[str, Any]:
        sky = simulator.sky
        return {"injections": [i.__dict__ for i, _ in sky.injections] if sky else []}

    @app.get("/alerts")
    async def alerts(since: str | None = None, limit: int = 1000) -> dict[str, Any]:
        from tooflow.simulator.feed import packets_b64

        try:
            t = parse_time(since) if since else None
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        dets = simulator.alerts(t)[:max(1, limit)]
        return {"clock": simulator.now().isoformat(), "count": len(dets),
                "alerts": await run_in_threadpool(packets_b64, simulator, dets)}

    @app.get("/detections")
    def detections(since: str | None = None) -> dict[str, Any]:
        from tooflow.simulator.feed import detection_rows

        try:
            t = parse_time(since) if since else None
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        return {"clock": simulator.now().isoformat(),
                "detections": detection_rows(simulator.alerts(t))}

    @app.get("/alerts/{candid}")
    async def alert(candid: int) -> Response:
        from tooflow.simulator.feed import packet_for

        det = next((d for d in simulator.alerts() if d.candid == candid), None)
        if det is None:
            raise HTTPException(404, f"no alert with candid {candid}")
        return Response(await run_in_threadpool(packet_for, simulator, det),
                        media_type="application/avro")

    @app.api_route("/tap/sync", methods=["GET", "POST"])
    async def tap_sync(request: Request) -> Response:
        params = {k.upper(): v for k, v in request.query_params.items()}
        if request.method == "POST":
            if not request.headers.get("content-type", "").startswith(
                    "application/x-www-form-urlencoded"):
                return Response(tap.error_votable("POST a form-urlencoded body "
                                                  "(table uploads are not supported)"),
                                status_code=400, media_type=_VOTABLE)
            form = parse_qsl((await request.body()).decode(), keep_blank_values=True)
            params.update({k.upper(): v for k, v in form})
        try:
            if params.get("REQUEST", "doQuery").lower() != "doquery":
                raise tap.AdqlError(f"unsupported REQUEST {params['REQUEST']!r}; use doQuery")
            if params.get("LANG", "ADQL").upper() != "ADQL":
                raise tap.AdqlError(f"unsupported LANG {params['LANG']!r}; use ADQL")
            fmt = params.get("FORMAT", "votable").lower()
            if fmt not in ("votable", _VOTABLE, "application/x-votable+xml;serialization=binary",
                           "text/xml"):
                raise tap.AdqlError(f"unsupported FORMAT {fmt!r}; only VOTable")
            if "QUERY" not in params:
                raise tap.AdqlError("missing QUERY parameter")
            query = tap.parse_adql(params["QUERY"])
            rows = tap.run_query(query, await run_in_threadpool(simulator.executed))
            if params.get("MAXREC", "").isdigit():
                rows = rows[:int(params["MAXREC"])]
        except tap.AdqlError as exc:
            return Response(tap.error_votable(str(exc)), status_code=400, media_type=_VOTABLE)
        return Response(tap.votable_bytes(query, rows), media_type=_VOTABLE)

    @app.get("/tap/capabilities")
    def tap_capabilities(request: Request) -> Response:
        base = str(request.url).rsplit("/capabilities", 1)[0]
        return Response(tap.capabilities_xml(base), media_type="text/xml")

    @app.get("/tap/tables")
    def tap_tables() -> Response:
        return Response(tap.tables_xml(), media_type="text/xml")

    @app.get("/tap/availability")
    def tap_availability() -> Response:
        return Response('<?xml version="1.0"?><availability '
                        'xmlns="http://www.ivoa.net/xml/VOSIAvailability/v1.0">'
                        '<available>true</available></availability>', media_type="text/xml")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": f"simulator error: {exc.__class__.__name__}: {exc}"},
                            status_code=500)

    return app
