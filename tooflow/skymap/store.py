"""Content-addressed storage of sky-map files, outside the database.

A map is stored once under the SHA-256 of its bytes, as
``root/ab/cdef....fits`` (first two hex digits as a directory, like git
objects). The database keeps only the hash. The bytes are stored exactly as
received: a gzip-compressed map stays compressed (astropy reads it whatever
the extension says).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

__all__ = ["SkymapStore"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class SkymapStore:
    """Sky-map files by SHA-256.

    Parameters
    ----------
    root : pathlib.Path
        Directory holding the files; created on first :meth:`put`.

    Examples
    --------
    >>> import tempfile
    >>> store = SkymapStore(Path(tempfile.mkdtemp()))
    >>> sha, path = store.put(b"SIMPLE  = T")
    >>> store.get(sha)
    b'SIMPLE  = T'
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        """Where the map with this hash lives (whether or not it exists).

        Raises
        ------
        ValueError
            If ``sha256`` is not 64 lower-case hex digits.
        """
        if not isinstance(sha256, str) or not _SHA256.match(sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / f"{sha256[2:]}.fits"

    def put(self, data: bytes) -> tuple[str, Path]:
        """Store bytes; storing the same bytes again does nothing.

        The file is written to a temporary name in the same directory and
        renamed, so readers never see a partial file.

        Returns
        -------
        sha256 : str
            Hex digest of the bytes.
        path : pathlib.Path
            The file.
        """
        sha256 = hashlib.sha256(data).hexdigest()
        path = self.path(sha256)
        if path.exists() and path.stat().st_size == len(data):
            return sha256, path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".fits")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha256, path

    def get(self, sha256: str) -> bytes:
        """The bytes stored under a hash.

        Raises
        ------
        KeyError
            If no map with this hash is stored.
        ValueError
            If the stored file no longer matches its hash (corrupted on disk).
        """
        path = self.path(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise KeyError(f"no sky map {sha256} in {self.root}") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ValueError(f"sky map file {path} is corrupted (hash mismatch)")
        return data

    def __contains__(self, sha256: str) -> bool:
        return self.path(sha256).exists()
