"""Print textattn's internal import graph (every import, at module top or inside a function), its cycles,
and whether anything under textattn/evaluation imports textattn.training.

    python tools/import_graph.py            # the graph, one "module -> imports" line per module
    python tools/import_graph.py --check    # only the checks

Exit status 1 when anything imports in a cycle, or evaluation imports training.
"""

from __future__ import annotations

import argparse
import ast
import pathlib
import sys

PACKAGE = "textattn"


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


def import_graph(root: pathlib.Path) -> dict[str, set[str]]:
    """{module: the textattn modules it imports} for the package under root/textattn."""
    names = module_names(root)
    graph = {name: imported(name, path, set(names)) for name, path in names.items()}
    # A package's __init__ is imported with each of its modules; its own imports of those are not a cycle.
    return {
        name: {t for t in targets if not t.startswith(name + ".")} if names[name].name == "__init__.py" else targets
        for name, targets in graph.items()
    }


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Each import of textattn.training from under textattn.evaluation, as "module -> target", sorted."""
    return sorted(
        f"{name} -> {target}"
        for name, targets in graph.items()
        if name.startswith(f"{PACKAGE}.evaluation")
        for target in targets
        if target == f"{PACKAGE}.training" or target.startswith(f"{PACKAGE}.training.")
    )


def check(graph: dict[str, set[str]]) -> tuple[list[str], bool]:
    """The check's report lines, and whether it passes: no cycle and no evaluation -> training import."""
    found, upward = cycles(graph), upward_imports(graph)
    lines = [
        f"cycles: {'; '.join(' <-> '.join(c) for c in found) or 'none'}",
        f"evaluation -> training imports: {'; '.join(upward) or 'none'}",
    ]
    return lines, not found and not upward


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="print only the checks")
    args = parser.parse_args()
    graph = import_graph(pathlib.Path(__file__).resolve().parent.parent)
    if not args.check:
        for name in sorted(graph):
            print(f"{name} -> {', '.join(sorted(graph[name])) or '(none)'}")
    lines, passed = check(graph)
    print("\n".join(lines))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
