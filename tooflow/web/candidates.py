"""Candidates for the web pages: one page of an event's ranked list, cutouts as PNG.

Reads only: vetting goes through :func:`tooflow.candidates.vetting.vet`, and
the candidate's page reads :func:`tooflow.candidates.views.load_candidate_view`.
The ranked list is paged in SQL
(:func:`tooflow.candidates.views.ranked_links`, the order of ``tooflow
candidates``: score, best first, then name), so an event with 10,000
candidates opens as fast as one with ten (benchmarks/web_candidates.py).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlmodel import Session

__all__ = ["CandidatePage", "candidate_page", "cutout_png", "PER_PAGE"]

#: Candidates per page of an event's list.
PER_PAGE = 25


@dataclass
class CandidatePage:
    """One page of an event's ranked candidates."""

    rows: list[dict[str, Any]]  #: rank, candidate, score, factors
    total: int
    page: int
    per_page: int
    include_all: bool

    @property
    def pages(self) -> int:
        """How many pages there are."""
        return max(1, -(-self.total // self.per_page))


def candidate_page(session: Session, event_pk: int, *, page: int = 1,
                   per_page: int = PER_PAGE, include_all: bool = False) -> CandidatePage:
    """Candidates ``(page-1)*per_page ...`` of an event, ranked as ``tooflow candidates``.

    Parameters
    ----------
    session : Session
    event_pk : int
        The event.
    page : int
        From 1.
    include_all : bool
        Also those below the listing threshold (``factors.listed`` false) and
        those rejected in vetting.
    """
    from ..candidates.views import count_ranked, ranked_links

    total = count_ranked(session, event_pk, include_all=include_all)
    page = max(1, min(page, max(1, -(-total // per_page))))
    rows = ranked_links(session, event_pk, include_all=include_all,
                        offset=(page - 1) * per_page, limit=per_page)
    out = [{"rank": (page - 1) * per_page + i, "candidate": cand, "score": link.score,
            "factors": dict(link.factors or {}), "notified": link.notified_at is not None}
           for i, (link, cand) in enumerate(rows, 1)]
    return CandidatePage(out, total, page, per_page, include_all)


def cutout_png(data: bytes, size: int = 3) -> bytes:
    """A cutout (gzipped FITS) as a grey PNG, z-scaled, north up as sent, ``size``× pixels.

    Raises
    ------
    ValueError
        The bytes hold no 2-D image.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from astropy.visualization import ZScaleInterval

    from ..candidates.plots import cutout_image

    image = cutout_image(data)
    finite = image[np.isfinite(image)]
    vmin, vmax = ZScaleInterval().get_limits(finite) if finite.size else (0.0, 1.0)
    image = np.nan_to_num(image, nan=vmin)
    if size > 1:
        image = np.kron(image, np.ones((size, size)))
    out = io.BytesIO()
    plt.imsave(out, image, cmap="gray", vmin=vmin, vmax=vmax, origin="lower", format="png")
    return out.getvalue()
