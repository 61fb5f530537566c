"""pytest's warning filters hide only named third-party deprecations (pyproject.toml)."""

from __future__ import annotations

import warnings


def _shown(module: str) -> bool:
    """Whether a DeprecationWarning attributed to ``module`` gets through the filters."""
    with warnings.catch_warnings(record=True) as seen:  # keeps the active filters
        warnings.warn_explicit("old API", DeprecationWarning, f"{module}.py", 1, module=module,
                               registry={})
    return bool(seen)


def test_tooflow_deprecation_warnings_are_shown():
    assert _shown("tooflow.skymap.read")
    assert _shown("tooflow")


def test_only_the_named_library_is_silenced():
    assert not _shown("ligo.skymap.util.numpy")
    assert _shown("astropy.io.fits")
    assert _shown("prefect.flows")
