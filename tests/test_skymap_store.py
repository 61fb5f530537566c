"""Content-addressed sky-map storage (tooflow/skymap/store.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tooflow.skymap import SkymapStore, read_skymap_bytes

MAP = Path(__file__).parent / "data" / "skymaps" / "rrt_small_area.fits"


def test_put_get_and_layout(tmp_path):
    data = MAP.read_bytes()
    store = SkymapStore(tmp_path / "maps")
    sha, path = store.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert path == tmp_path / "maps" / sha[:2] / f"{sha[2:]}.fits"
    assert store.path(sha) == path
    assert path.read_bytes() == data
    assert store.get(sha) == data
    assert sha in store
    assert len(read_skymap_bytes(store.get(sha))) == 345


def test_put_is_idempotent(tmp_path):
    store = SkymapStore(tmp_path)
    data = MAP.read_bytes()
    sha1, path1 = store.put(data)
    mtime = path1.stat().st_mtime_ns
    sha2, path2 = store.put(data)
    assert (sha1, path1) == (sha2, path2)
    assert path1.stat().st_mtime_ns == mtime  # not rewritten
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files == [path1]  # no temporary files left behind


def test_different_bytes_get_different_files(tmp_path):
    store = SkymapStore(tmp_path)
    a, _ = store.put(b"SIMPLE  = map one")
    b, _ = store.put(b"SIMPLE  = map two")
    assert a != b
    assert store.get(a) != store.get(b)


def test_missing_map_is_a_key_error(tmp_path):
    store = SkymapStore(tmp_path)
    with pytest.raises(KeyError, match="no sky map"):
        store.get("0" * 64)
    assert "0" * 64 not in store


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ABC", "g" * 64, "0" * 63])
def test_bad_hashes_are_refused(tmp_path, bad):
    with pytest.raises(ValueError, match="not a SHA-256"):
        SkymapStore(tmp_path).path(bad)


def test_corrupted_file_is_detected(tmp_path):
    store = SkymapStore(tmp_path)
    sha, path = store.put(MAP.read_bytes())
    path.write_bytes(b"SIMPLE  = something else")
    with pytest.raises(ValueError, match="corrupted"):
        store.get(sha)
