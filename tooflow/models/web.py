"""People of the web pages: users, their sessions, login attempts, and the audit trail.

Passwords are stored as argon2id hashes (``tooflow.web.accounts``); a session
cookie holds a random token of which the table keeps only the sha256, so a
copy of the database opens no session.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from ._types import UTCDateTime, utcnow

__all__ = ["User", "WebSession", "LoginAttempt", "AuditRecord", "ROLES"]

#: Roles, least to most allowed: a viewer reads; a duty astronomer also approves
#: plans, vets candidates and edits circulars; an admin also manages users.
ROLES = ("viewer", "duty", "admin")


class User(SQLModel, table=True):
    """A person who may log in to the web pages."""

    __tablename__ = "web_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, max_length=64)
    full_name: str = ""
    email: str | None = Field(default=None, index=True)
    role: str = Field(default="viewer", max_length=16, description="viewer, duty, admin")
    password_hash: str | None = Field(default=None,
                                      description="argon2id; None: single sign-on only")
    oidc_subject: str | None = Field(default=None, index=True,
                                     description="issuer|sub of the single sign-on identity")
    active: bool = True
    created: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebSession(SQLModel, table=True):
    """A logged-in browser: the sha256 of its cookie token, its CSRF token, its expiry."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    token_sha256: str = Field(index=True, unique=True, max_length=64)
    user_id: int = Field(foreign_key="web_user.id", index=True)
    csrf_token: str = Field(max_length=64)
    created: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires: dt.datetime = Field(sa_type=UTCDateTime)
    ip: str | None = None


class LoginAttempt(SQLModel, table=True):
    """One failed login, for the rate limit (per user name and per address)."""

    __tablename__ = "web_login_attempt"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, max_length=64)
    ip: str | None = Field(default=None, index=True)
    created: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class AuditRecord(SQLModel, table=True):
    """Who did what, when: every change made from the web pages or the CLI's review commands."""

    __tablename__ = "audit_record"

    id: int | None = Field(default=None, primary_key=True)
    actor: str = Field(index=True, description="user name, or 'cli:<login>'")
    action: str = Field(index=True, description="login, approve_plan, edit_circular, ...")
    event_pk: int | None = Field(default=None, foreign_key="event.id", index=True)
    target: str | None = Field(default=None, description="plan #3, circular #2 v4, ...")
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    created: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
