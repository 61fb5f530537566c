"""The vendored JavaScript's licence notices agree with the files shipped.

Aladin Lite 3.8.2's npm package says GPL-3 (package.json, README, source
headers) and also carries an LGPL v3 text as LICENSE; the notices must name
the GPL and point at the GPL text (COPYING), and every vendored file must be
listed in NOTICE and in the vendor README.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "tooflow" / "web" / "static" / "vendor"
LICENCE_NAMES = {"LICENSE", "COPYING", "COPYING.LESSER", "README.md"}


def test_every_vendored_file_is_in_notice_and_vendor_readme():
    notice = (ROOT / "NOTICE").read_text()
    readme = (VENDOR / "README.md").read_text()
    shipped = [p for p in VENDOR.rglob("*") if p.is_file() and p.name not in LICENCE_NAMES]
    assert shipped
    for path in shipped:
        rel = path.relative_to(VENDOR).as_posix()
        assert f"tooflow/web/static/vendor/{rel}" in notice, rel
        assert f"`{rel}`" in readme, rel


def test_aladin_lite_is_noticed_as_gpl3_with_the_gpl_text():
    copying = (VENDOR / "aladin-lite" / "COPYING").read_text()
    assert copying.split()[:7] == ["GNU", "GENERAL", "PUBLIC", "LICENSE", "Version", "3,", "29"]
    lesser = (VENDOR / "aladin-lite" / "LICENSE").read_text()
    assert lesser.startswith("GNU LESSER GENERAL PUBLIC LICENSE")  # as the package ships it
    notice = (ROOT / "NOTICE").read_text()
    block = notice[notice.index("Aladin Lite 3.8.2"):]
    assert "GPL-3.0-only" in block and "vendor/aladin-lite/COPYING" in block
    row = next(line for line in (VENDOR / "README.md").read_text().splitlines()
               if line.startswith("| `aladin-lite/aladin.js`"))
    assert "GPL-3.0-only" in row and "LGPL" not in row
    web = (ROOT / "docs" / "web.md").read_text()
    assert "GPL-3.0-only" in web


def test_distribution_declares_every_licence_it_ships():
    """pyproject's SPDX expression names tooflow's licence and each vendored one, and
    every licence file it lists exists (the wheel's .dist-info/licenses/)."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    expression = project["license"]
    assert isinstance(expression, str)  # PEP 639 expression, not the old {text = ...}
    assert set(expression.split(" AND ")) == {"BSD-3-Clause", "0BSD", "GPL-3.0-only"}
    assert (ROOT / "LICENSE").read_text().startswith("BSD 3-Clause License")
    files = project["license-files"]
    for name in files:
        assert (ROOT / name).is_file(), name
    assert {"LICENSE", "NOTICE", "tooflow/web/static/vendor/aladin-lite/COPYING",
            "tooflow/web/static/vendor/htmx/LICENSE"} <= set(files)
