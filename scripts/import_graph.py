"""Measure the import graph of the ``tooflow`` package.

Reads every ``.py`` file under ``tooflow/`` with :mod:`ast` (nothing is
imported or run) and prints:

* the top-level rooms (modules and packages directly under ``tooflow/``) and
  the import edges among them (a room importing another, counted once);
* import circles: strongly connected components of the module graph (every
  import, also those inside functions, which is how circles are usually
  dodged);
* upward imports: a module of a lower layer importing one of a higher layer
  (layers below; a room not listed is a library, layer 1);
* imports of another module's private (``_name``) functions or classes;
* the largest modules, by lines.

Layers, top to bottom: ``cli`` (5) → ``flows`` (4) → ``tasks`` (3) →
``stages`` (2) → everything else (1). What starts or serves flows sits with
the flows at 4: the intake's trigger, rerun and listener service
(``intake.trigger``, ``intake.rerun``, ``intake.service``), the runner
serving the flows on the local server (``embedded.runner``) and the SNEWS
service's wiring (``snews.wiring``); the listeners' sources, the notice store,
the local Prefect server and the rest of ``snews`` are libraries. A key names
a room or one module in it (the longest match counts).

Usage::

    python scripts/import_graph.py [--root tooflow] [--json]
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections import defaultdict
from pathlib import Path

LAYERS = {"cli": 5, "flows": 4, "intake.trigger": 4, "intake.rerun": 4, "intake.service": 4,
          "embedded.runner": 4, "snews.wiring": 4, "tasks": 3, "stages": 2}


def layer(module: str) -> int:
    """Layer of a module (``tooflow.a.b``): its longest key in :data:`LAYERS`, else 1."""
    parts = module.split(".")[1:]
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in LAYERS:
            return LAYERS[key]
    return 1


def module_name(path: Path, root: Path) -> str:
    """Dotted module name of ``path`` (``tooflow/a/b.py`` → ``tooflow.a.b``)."""
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def resolve(current: str, is_package: bool, level: int, target: str | None) -> str:
    """Absolute module name of a (possibly relative) ``from`` import."""
    if level == 0:
        return target or ""
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def collect(root: Path) -> tuple[dict[str, set[str]], list[tuple[str, str, str]], dict[str, int]]:
    """Module → imported tooflow modules; private imports; lines per module."""
    modules = {module_name(p, root): p for p in root.rglob("*.py")}
    known = set(modules)
    edges: dict[str, set[str]] = defaultdict(set)
    private: list[tuple[str, str, str]] = []
    lines: dict[str, int] = {}
    for name, path in modules.items():
        text = path.read_text(encoding="utf-8")
        lines[name] = text.count("\n")
        tree = ast.parse(text, filename=str(path))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == root.name:
                        edges[name].add(_known(alias.name, known))
            elif isinstance(node, ast.ImportFrom):
                base = resolve(name, is_package, node.level, node.module)
                if base.split(".")[0] != root.name:
                    continue
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    target = sub if sub in known else _known(base, known)
                    edges[name].add(target)
                    if (
                        alias.name.startswith("_")
                        and not alias.name.startswith("__")
                        and sub not in known
                    ):
                        private.append((name, target, alias.name))
        edges[name].discard(name)
    return edges, private, lines


def _known(name: str, known: set[str]) -> str:
    while name and name not in known:
        name = name.rsplit(".", 1)[0] if "." in name else ""
    return name


def room(module: str) -> str:
    """Top-level room of a module: ``tooflow.a.b`` → ``a``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(tooflow)"


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    nodes = set(edges) | {w for ws in edges.values() for w in ws}
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return sorted(found)


def measure(root: Path) -> dict:
    """All figures as plain data."""
    edges, private, lines = collect(root)
    # a package's __init__ re-exporting its own modules is not a room edge
    room_edges = sorted(
        {
            (room(a), room(b))
            for a, bs in edges.items()
            for b in bs
            if room(a) != room(b) and room(a) != "(tooflow)" and room(b) != "(tooflow)"
        }
    )
    rooms = sorted({room(m) for m in lines} - {"(tooflow)"})
    upward = sorted(
        (a, b)
        for a, bs in edges.items()
        for b in bs
        if layer(b) > layer(a)
    )
    largest = sorted(lines.items(), key=lambda kv: -kv[1])[:10]
    top_modules = sorted(r for r in rooms if (root / f"{r}.py").exists())
    return {
        "rooms": len(rooms),
        "top_level_modules": len(top_modules),
        "packages": len(rooms) - len(top_modules),
        "room_edges": len(room_edges),
        "modules": len(lines),
        "module_edges": sum(len(v) for v in edges.values()),
        "circles": circles(edges),
        "upward_imports": upward,
        "private_imports": sorted(set(private)),
        "largest": largest,
        "loose_modules": top_modules,
    }


def main(argv: list[str] | None = None) -> int:
    """Print the figures (a table, or JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1] / "tooflow"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    figures = measure(Path(args.root))
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"top-level rooms            {figures['rooms']} "
          f"({figures['top_level_modules']} modules, {figures['packages']} packages)")
    print(f"import edges among rooms   {figures['room_edges']}")
    print(f"modules / module edges     {figures['modules']} / {figures['module_edges']}")
    print(f"import circles             {len(figures['circles'])}")
    for comp in figures["circles"]:
        print("    " + " ↔ ".join(comp))
    print(f"upward imports             {len(figures['upward_imports'])}")
    for a, b in figures["upward_imports"]:
        print(f"    {a} → {b}")
    print(f"private names imported     {len(figures['private_imports'])}")
    for a, b, n in figures["private_imports"]:
        print(f"    {a} ← {b}.{n}")
    print("largest modules (lines)")
    for name, n in figures["largest"]:
        print(f"    {n:5d}  {name}")
    print("loose modules at the top: " + ", ".join(figures["loose_modules"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
