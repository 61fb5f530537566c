"""The sky of a dark site: the defaults of a telescope's sky per filter.

Zenith dark-sky brightness and extinction per unit airmass, typical values of
a dark site (sources below and in :mod:`tooflow.telescopes.depth`). A
telescope of the catalogue may override both per filter in its YAML
(``depth.dark_sky``, ``depth.extinction``; :meth:`Telescope.dark_sky
<tooflow.telescopes.catalogue.Telescope.dark_sky>`,
:meth:`~tooflow.telescopes.catalogue.Telescope.extinction`); the depth model
uses them when nothing is given. Kept apart from both so that the catalogue
does not import the depth model, which reads the catalogue.
"""

from __future__ import annotations

__all__ = ["DARK_SKY", "EXTINCTION"]

#: Zenith dark-sky brightness (AB mag/arcsec²) of a dark site, per filter:
#: Ivezić et al. 2019 Table 2 (u–y); J: Calar Alto 15.4 Vega + 0.91.
DARK_SKY = {"u": 22.99, "g": 22.26, "r": 21.20, "i": 20.48, "z": 19.60, "y": 18.61,
            "Y": 18.61, "J": 16.31}

#: Extinction per unit airmass (mag/airmass), typical values (within 0.02 of
#: Ivezić et al. 2019 Table 2 for g, r, i, z; J from near-infrared practice).
EXTINCTION = {"u": 0.50, "g": 0.20, "r": 0.12, "i": 0.08, "z": 0.06, "y": 0.06, "Y": 0.06,
              "J": 0.10, "H": 0.08, "K": 0.07, "Ks": 0.07}
