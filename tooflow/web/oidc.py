"""Single sign-on through OpenID Connect (authorization code with PKCE), with authlib.

Configured by ``web.oidc`` (issuer, client id, the environment variable holding
the client secret). The login page then offers "Log in with <label>": the
browser goes to the institution's provider, comes back with a code, tooflow
exchanges it (authlib's :class:`~authlib.integrations.requests_client.OAuth2Session`,
PKCE S256) and checks the ID token (signature against the provider's keys,
issuer, audience, expiry, nonce; :mod:`joserfc`). The identity is
``issuer|sub``; it logs in the tooflow user linked to it, else the user whose
e-mail the provider says is verified (then linked), else — only with
``create_users: true`` — a new user with ``default_role``. Roles stay tooflow's.

Every call to the provider has a total deadline (``deadline`` seconds).
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from ..config.sections import OidcSection
from ..guards.deadline import call_with_deadline
from ..models import User

__all__ = ["OidcError", "OidcLogin", "Provider", "begin", "finish"]

_DISCOVERY: dict[str, tuple[float, dict[str, Any]]] = {}


class OidcError(PermissionError):
    """The single sign-on did not give a tooflow user (the message says why)."""


@dataclass(frozen=True)
class OidcLogin:
    """What the browser keeps (HttpOnly cookie) between leaving and coming back."""

    state: str
    nonce: str
    verifier: str
    next: str


def _session(conf: OidcSection, redirect_uri: str):
    from authlib.integrations.requests_client import OAuth2Session

    secret = os.environ.get(conf.client_secret_env) if conf.client_secret_env else None
    return OAuth2Session(conf.client_id, secret, scope=conf.scope, redirect_uri=redirect_uri,
                         code_challenge_method="S256", timeout=conf.timeout)


def _get_json(url: str, conf: OidcSection, what: str) -> dict[str, Any]:
    import requests

    def get() -> dict[str, Any]:
        r = requests.get(url, timeout=conf.timeout)
        r.raise_for_status()
        return r.json()

    return call_with_deadline(get, conf.deadline, what)


def provider(conf: OidcSection) -> dict[str, Any]:
    """The provider's metadata (``/.well-known/openid-configuration``), cached 1 h."""
    url = conf.issuer.rstrip("/") + "/.well-known/openid-configuration"
    cached = _DISCOVERY.get(url)
    if cached and time.monotonic() - cached[0] < 3600:
        return cached[1]
    meta = _get_json(url, conf, f"OpenID discovery at {url}")
    missing = [k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri", "issuer")
               if not meta.get(k)]
    if missing:
        raise OidcError(f"the provider's metadata lacks {missing}")
    _DISCOVERY[url] = (time.monotonic(), meta)
    return meta


Provider = provider


def begin(conf: OidcSection, redirect_uri: str, next_url: str) -> tuple[str, OidcLogin]:
    """The provider's authorization URL to send the browser to, and what to keep."""
    meta = provider(conf)
    login = OidcLogin(state=secrets.token_urlsafe(24), nonce=secrets.token_urlsafe(24),
                      verifier=secrets.token_urlsafe(48), next=next_url)
    url, _ = _session(conf, redirect_uri).create_authorization_url(
        meta["authorization_endpoint"], state=login.state, nonce=login.nonce,
        code_verifier=login.verifier)
    return url, login


def _claims(conf: OidcSection, meta: dict[str, Any], id_token: str, nonce: str) -> dict:
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    keys = KeySet.import_key_set(_get_json(meta["jwks_uri"], conf, "the provider's keys"))
    try:
        token = jwt.decode(id_token, keys, algorithms=["RS256", "ES256", "PS256", "EdDSA"])
        jwt.JWTClaimsRegistry(
            leeway=60, iss={"essential": True, "value": meta["issuer"]},
            aud={"essential": True, "value": conf.client_id},
            nonce={"essential": True, "value": nonce}, exp={"essential": True},
            sub={"essential": True}).validate(token.claims)
    except (JoseError, ValueError) as exc:
        raise OidcError(f"the provider's ID token was refused: {exc}") from exc
    return dict(token.claims)


def finish(session: Session, conf: OidcSection, redirect_uri: str, login: OidcLogin, *,
           code: str, state: str) -> User:
    """Exchange the code, check the ID token, find (or create) the tooflow user.

    Raises
    ------
    OidcError
        Wrong state, a token the provider's keys do not verify, no tooflow user.
    """
    from ..audit import record
    from .accounts import add_user

    if not state or not secrets.compare_digest(state, login.state):
        raise OidcError("the single sign-on answer does not match this browser's request")
    meta = provider(conf)
    client = _session(conf, redirect_uri)
    token = call_with_deadline(
        lambda: client.fetch_token(meta["token_endpoint"], code=code,
                                   code_verifier=login.verifier,
                                   grant_type="authorization_code"),
        conf.deadline, "the provider's token endpoint")
    if not token.get("id_token"):
        raise OidcError("the provider sent no ID token (is 'openid' in the scope?)")
    claims = _claims(conf, meta, token["id_token"], login.nonce)
    subject = f"{meta['issuer']}|{claims['sub']}"
    user = session.exec(select(User).where(User.oidc_subject == subject)).first()
    email = claims.get("email") if claims.get("email_verified") else None
    if user is None and email:
        user = session.exec(select(User).where(User.email == email,
                                               User.oidc_subject.is_(None))).first()
        if user is not None:
            user.oidc_subject = subject
            session.add(user)
            record(session, user.username, "link_sso", target=f"user {user.username}",
                   subject=subject)
    if user is None and conf.create_users:
        name = (claims.get("preferred_username") or (email or "").split("@")[0]
                or claims["sub"])[:64].replace(" ", "_")
        user = add_user(session, name, role=conf.default_role, email=email,
                        full_name=str(claims.get("name", "")), actor="sso")
        user.oidc_subject = subject
        session.add(user)
    if user is None:
        who = email or claims.get("preferred_username") or claims["sub"]
        raise OidcError(f"no tooflow user for {who}: an admin adds you with "
                        f"`tooflow web user add NAME --sso-only --email {email or 'ADDRESS'}`")
    if not user.active:
        raise OidcError(f"user {user.username!r} is disabled")
    return user
