"""A facility's HTTP exchanges, stored: shared by submission, monitoring and follow-up."""

from __future__ import annotations

from sqlmodel import Session

from ..models import FacilityTransaction

__all__ = ["store_transactions"]


def store_transactions(session: Session, facility, event_pk: int | None) -> None:
    """Record a facility's HTTP exchanges (no credentials) and forget them."""
    for t in facility.pop_transactions():
        session.add(FacilityTransaction(event_pk=event_pk, **t.row()))
