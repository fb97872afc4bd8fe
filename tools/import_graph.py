"""Print textattn's internal import graph (every import, at module top or inside a function), its cycles,
and whether anything under textattn/evaluation imports textattn.training.

    python tools/import_graph.py            # the graph, one "module -> imports" line per module
    python tools/import_graph.py --check    # only the checks

Exit status 1 when evaluation imports training, or a cycle holds a module of the training core
(textattn.training.*, textattn.inference, textattn.data.run_data); other cycles are listed only.
"""

from __future__ import annotations

import argparse
import ast
import pathlib
import sys

PACKAGE = "textattn"
CORE = (f"{PACKAGE}.training", f"{PACKAGE}.inference", f"{PACKAGE}.data.run_data")


def module_names(root: pathlib.Path) -> dict[str, pathlib.Path]:
    """{dotted module name: file} of every .py file under root/textattn."""
    names = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imported(module: str, path: pathlib.Path, known: set[str]) -> set[str]:
    """The textattn modules ``module`` imports (``from a import b`` counts a.b when that is a module)."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != module:
                found.add(target)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="print only the checks")
    args = parser.parse_args()
    root = pathlib.Path(__file__).resolve().parent.parent
    names = module_names(root)
    graph = {name: imported(name, path, set(names)) for name, path in names.items()}
    # A package's __init__ is imported with each of its modules; its own imports of those are not a cycle.
    graph = {name: {t for t in targets if not t.startswith(name + ".")} if names[name].name == "__init__.py"
             else targets for name, targets in graph.items()}
    if not args.check:
        for name in sorted(graph):
            print(f"{name} -> {', '.join(sorted(graph[name])) or '(none)'}")
    found = cycles(graph)
    upward = sorted(f"{name} -> {target}" for name, targets in graph.items() if name.startswith(f"{PACKAGE}.evaluation")
                    for target in targets if target == f"{PACKAGE}.training" or target.startswith(f"{PACKAGE}.training."))
    print(f"cycles: {'; '.join(' <-> '.join(c) for c in found) or 'none'}")
    print(f"evaluation -> training imports: {'; '.join(upward) or 'none'}")
    core_cycles = [c for c in found if any(m == core or m.startswith(core + ".") for m in c for core in CORE)]
    print(f"cycles through the training core: {'; '.join(' <-> '.join(c) for c in core_cycles) or 'none'}")
    return 1 if core_cycles or upward else 0


if __name__ == "__main__":
    sys.exit(main())
