"""Users, passwords, sessions and the login rate limit (no FastAPI here: the CLI uses it).

Passwords are hashed with argon2id (:mod:`argon2`, RFC 9106 parameters); a
hash made with older parameters is re-hashed at the next login. A session is
a random token in the browser's cookie; the database keeps only its sha256
and the session's CSRF token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func
from sqlmodel import Session, select

from ..audit import record
from ..models import LoginAttempt, User, WebSession
from ..models.web import ROLES
from .config import WebConfig

__all__ = ["add_user", "set_password", "set_role", "authenticate", "start_session",
           "session_user", "end_session", "LoginRefused", "TooManyAttempts", "can",
           "MIN_PASSWORD"]

_HASHER = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
#: Shortest password accepted.
MIN_PASSWORD = 12
#: What each role may do beyond reading.
_ALLOWED = {"viewer": set(), "duty": {"approve", "vet", "edit_circular"},
            "admin": {"approve", "vet", "edit_circular", "manage_users"}}


class LoginRefused(PermissionError):
    """Unknown user, wrong password or disabled account (one message for all three)."""


class TooManyAttempts(PermissionError):
    """Too many failed logins for this user name or address lately."""


def can(user: User, action: str) -> bool:
    """Whether ``user``'s role allows ``action`` (``approve``, ``vet``, ``edit_circular``...)."""
    return bool(user.active) and action in _ALLOWED.get(user.role, set())


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    return role


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")


def add_user(session: Session, username: str, *, role: str = "viewer",
             password: str | None = None, full_name: str = "", email: str | None = None,
             actor: str = "cli") -> User:
    """Create a user (``password=None``: single sign-on only).

    Raises
    ------
    ValueError
        The name is taken or malformed, the role unknown, the password too short.
    """
    username = (username or "").strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise ValueError("a user name is 1-64 characters without spaces")
    if session.exec(select(User).where(User.username == username)).first():
        raise ValueError(f"user {username!r} exists already")
    if password is not None:
        _check_password(password)
    user = User(username=username, role=_check_role(role), full_name=full_name, email=email,
                password_hash=_HASHER.hash(password) if password is not None else None)
    session.add(user)
    record(session, actor, "add_user", target=f"user {username}", role=role)
    session.flush()
    return user


def _user(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise LookupError(f"no user {username!r}")
    return user


def set_password(session: Session, username: str, password: str, actor: str = "cli") -> None:
    """Set a user's password; their open sessions end."""
    _check_password(password)
    user = _user(session, username)
    user.password_hash = _HASHER.hash(password)
    session.add(user)
    session.exec(delete(WebSession).where(WebSession.user_id == user.id))
    record(session, actor, "set_password", target=f"user {username}")


def set_role(session: Session, username: str, role: str, *, active: bool | None = None,
             actor: str = "cli") -> User:
    """Change a user's role (and disable/enable them); a disabled user's sessions end."""
    user = _user(session, username)
    user.role = _check_role(role)
    if active is not None:
        user.active = active
        if not active:
            session.exec(delete(WebSession).where(WebSession.user_id == user.id))
    session.add(user)
    record(session, actor, "set_role", target=f"user {username}", role=role,
           active=user.active)
    return user


def _recent_failures(session: Session, column, value: str, since: dt.datetime) -> int:
    return session.exec(select(func.count()).select_from(LoginAttempt)
                        .where(column == value, LoginAttempt.created >= since)).one()


def authenticate(session: Session, username: str, password: str, *, ip: str | None,
                 config: WebConfig, now: dt.datetime | None = None) -> User:
    """Check a password; failures are counted per user name and per address.

    Raises
    ------
    TooManyAttempts
        ``config.login_attempts`` failures within ``config.login_window_minutes``
        for this name or this address (checked before the password).
    LoginRefused
        Unknown user, wrong password, disabled account.
    """
    now = now or dt.datetime.now(dt.UTC)
    username = (username or "").strip()[:64]
    since = now - dt.timedelta(minutes=config.login_window_minutes)
    if (_recent_failures(session, LoginAttempt.username, username, since)
            >= config.login_attempts
            or (ip and _recent_failures(session, LoginAttempt.ip, ip, since)
                >= 4 * config.login_attempts)):
        record(session, username or "?", "login_throttled", ip=ip)
        raise TooManyAttempts(f"too many failed logins; try again in "
                              f"{config.login_window_minutes:g} minutes")
    user = session.exec(select(User).where(User.username == username)).first()
    ok = False
    if user is not None and user.active and user.password_hash:
        try:
            ok = _HASHER.verify(user.password_hash, password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
    else:  # the same work for an unknown name: no timing hint that it does not exist
        try:
            _HASHER.verify(_DUMMY_HASH, password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            pass
    if not ok:
        session.add(LoginAttempt(username=username, ip=ip, created=now))
        record(session, username or "?", "login_failed", ip=ip)
        raise LoginRefused("wrong user name or password")
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
        session.add(user)
    session.exec(delete(LoginAttempt).where(LoginAttempt.username == username))
    return user


_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user: User, *, ip: str | None, config: WebConfig,
                  now: dt.datetime | None = None, how: str = "password") -> str:
    """Open a session for ``user``; returns the cookie token (shown only this once)."""
    now = now or dt.datetime.now(dt.UTC)
    token = secrets.token_urlsafe(32)
    session.add(WebSession(token_sha256=_digest(token), user_id=user.id, ip=ip,
                           csrf_token=secrets.token_urlsafe(32), created=now,
                           expires=now + dt.timedelta(hours=config.session_hours)))
    session.exec(delete(WebSession).where(WebSession.expires < now))
    record(session, user.username, "login", ip=ip, how=how)
    return token


def session_user(session: Session, token: str | None,
                 now: dt.datetime | None = None) -> tuple[User, WebSession] | None:
    """The user and session of a cookie token, or None (unknown, expired, disabled)."""
    if not token or len(token) > 200:
        return None
    row = session.exec(select(WebSession).where(WebSession.token_sha256 == _digest(token))
                       ).first()
    if row is None or row.expires <= (now or dt.datetime.now(dt.UTC)):
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return user, row


def end_session(session: Session, token: str | None) -> None:
    """Log out: forget the session of this token."""
    if token:
        session.exec(delete(WebSession).where(WebSession.token_sha256 == _digest(token)))
