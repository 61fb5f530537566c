"""Bundle every released GCN unified-schema notice schema into one package-data file.

Usage::

    python scripts/build_gcn_schema_bundle.py GCN_SCHEMA_GIT_DIR [OUT]

``GCN_SCHEMA_GIT_DIR`` is a clone (bare or not) of nasa-gcn/gcn-schema with its
release tags. For every tag ``vX.Y.Z`` the schemas under ``gcn/notices/`` are
stored unchanged, keyed by the URL they are published at
(``https://gcn.nasa.gov/schema/vX.Y.Z/gcn/notices/...``), in
``tooflow/schemas/gcn/released.json.gz`` (default ``OUT``), with the commit of
each tag. :mod:`tooflow.parsers.gcn_schemas` validates a notice against the
release its ``$schema`` names.
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tooflow" / "schemas" / "gcn" / "released.json.gz"


def git(repo: str, *args: str) -> str:
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True,
                          text=True).stdout


def main(repo: str, out: Path = OUT) -> None:
    tags = sorted((t for t in git(repo, "tag").split() if re.fullmatch(r"v\d+\.\d+\.\d+", t)),
                  key=lambda t: tuple(int(x) for x in t[1:].split(".")))
    bundle: dict = {"source": "https://github.com/nasa-gcn/gcn-schema", "tags": {},
                    "schemas": {}}
    for tag in tags:
        bundle["tags"][tag] = git(repo, "rev-list", "-n1", tag).strip()
        for path in git(repo, "ls-tree", "-r", "--name-only", tag, "gcn/notices").split():
            if not path.endswith(".schema.json"):
                continue
            schema = json.loads(git(repo, "show", f"{tag}:{path}"))
            uri = f"https://gcn.nasa.gov/schema/{tag}/{path}"
            if schema.get("$id") != uri:  # v1.0.0 core/Orbit says it is GeoLocBase
                print(f"note: {tag}:{path} has $id {schema.get('$id')!r}; stored as {uri}")
            bundle["schemas"][uri] = schema
    data = json.dumps(bundle, sort_keys=True, separators=(",", ":")).encode()
    out.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    print(f"{len(bundle['schemas'])} schemas from {len(tags)} tags -> {out} "
          f"({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]) if len(sys.argv) > 2 else OUT)
