"""Single sign-on (OpenID Connect) against a provider on loopback.

The provider here is a small FastAPI app speaking the protocol's four
endpoints (discovery, authorize, token, keys): it signs real RS256 ID tokens
(joserfc) and checks the PKCE verifier against the challenge, as a real one
does; the person is already logged in at it, so authorize answers at once.
"""

from __future__ import annotations

import base64
import hashlib
import time

import httpx
import pytest
from fastapi import FastAPI, Form, HTTPException
from fastapi.responses import RedirectResponse
from sqlmodel import Session, select

from tooflow.models import AuditRecord, User

from .web_helpers import serve


class Provider:
    """An OpenID provider: whose identity it asserts, and whether it signs with a wrong key."""

    def __init__(self) -> None:
        from joserfc.jwk import RSAKey

        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        self.rogue = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        self.sign_with_rogue = False
        self.claims = {"sub": "u-123", "email": "dora@example.edu", "email_verified": True,
                       "preferred_username": "dora.e", "name": "Dora Example"}
        self.codes: dict[str, dict] = {}
        self.url = ""

    def app(self) -> FastAPI:
        from joserfc import jwt

        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return {"issuer": self.url, "authorization_endpoint": f"{self.url}/authorize",
                    "token_endpoint": f"{self.url}/token", "jwks_uri": f"{self.url}/jwks"}

        @app.get("/jwks")
        def jwks():
            return {"keys": [self.key.as_dict(private=False)]}

        @app.get("/authorize")
        def authorize(client_id: str, redirect_uri: str, state: str, nonce: str,
                      code_challenge: str, code_challenge_method: str, response_type: str):
            assert response_type == "code" and code_challenge_method == "S256"
            code = f"code-{len(self.codes)}"
            self.codes[code] = {"nonce": nonce, "challenge": code_challenge,
                                "client_id": client_id, "redirect_uri": redirect_uri}
            return RedirectResponse(f"{redirect_uri}?code={code}&state={state}", 302)

        @app.post("/token")
        def token(code: str = Form(...), code_verifier: str = Form(...),
                  redirect_uri: str = Form(...), client_id: str = Form("tooflow")):
            grant = self.codes.pop(code, None)
            digest = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest())
            if grant is None or digest.rstrip(b"=").decode() != grant["challenge"] \
                    or redirect_uri != grant["redirect_uri"]:
                raise HTTPException(400, "invalid_grant")
            now = int(time.time())
            claims = {**self.claims, "iss": self.url, "aud": grant["client_id"],
                      "nonce": grant["nonce"], "iat": now, "exp": now + 300}
            key = self.rogue if self.sign_with_rogue else self.key
            return {"access_token": "at", "token_type": "Bearer", "expires_in": 300,
                    "id_token": jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)}

        return app


@pytest.fixture
def sso(sqlite_engine, tmp_path, monkeypatch):
    """The provider and tooflow's pages configured to use it: (provider, tooflow URL)."""
    from tooflow.config import load_settings
    from tooflow.web.app import create_app

    provider = Provider()
    with serve(provider.app()) as idp:
        provider.url = idp
        config = tmp_path / "tooflow.yaml"
        config.write_text(f"web:\n  oidc: {{issuer: '{idp}', client_id: tooflow, "
                          "label: Example University}\n")
        monkeypatch.setenv("TOOFLOW_CONFIG", str(config))
        monkeypatch.setenv("TOOFLOW_OIDC_CLIENT_SECRET", "test-only-secret")
        with serve(create_app(load_settings(), sqlite_engine)) as url:
            yield provider, url


def _sso_login(url: str) -> tuple[httpx.Client, httpx.Response]:
    client = httpx.Client(base_url=url, follow_redirects=True, headers={"accept": "text/html"})
    assert "Log in with Example University" in client.get("/login").text
    return client, client.get("/login/oidc", params={"next": "/events"})


def test_unknown_identity_is_refused_then_linked_by_email(sso, sqlite_engine):
    from tooflow.web.accounts import add_user

    provider, url = sso
    client, r = _sso_login(url)
    assert r.status_code == 403 and "no tooflow user for dora@example.edu" in r.text
    assert client.get("/events").status_code == 200  # the login page, not the events
    assert "Log in" in client.get("/events").text
    with Session(sqlite_engine) as s:
        add_user(s, "dora", role="duty", email="dora@example.edu", actor="test")
        s.commit()
    client, r = _sso_login(url)
    assert r.status_code == 200 and str(r.url) == f"{url}/events" and "dora · duty" in r.text
    with Session(sqlite_engine) as s:
        user = s.exec(select(User).where(User.username == "dora")).one()
        assert user.oidc_subject == f"{provider.url}|u-123" and user.password_hash is None
        logins = s.exec(select(AuditRecord).where(AuditRecord.action == "login")).all()
    assert logins[-1].detail["how"] == "oidc"


def test_a_token_not_signed_by_the_provider_is_refused(sso, sqlite_engine):
    from tooflow.web.accounts import add_user

    provider, url = sso
    with Session(sqlite_engine) as s:
        add_user(s, "dora", role="duty", email="dora@example.edu", actor="test")
        s.commit()
    provider.sign_with_rogue = True
    _client, r = _sso_login(url)
    assert r.status_code == 403 and "ID token was refused" in r.text
    provider.sign_with_rogue = False
    provider.claims = {**provider.claims, "email_verified": False}
    _client, r = _sso_login(url)  # an unverified e-mail links nobody
    assert r.status_code == 403 and "no tooflow user for" in r.text


def test_a_callback_without_its_request_is_refused(sso):
    _provider, url = sso
    r = httpx.get(f"{url}/login/oidc/callback", params={"code": "x", "state": "y"})
    assert r.status_code == 403 and "no single sign-on under way" in r.text
