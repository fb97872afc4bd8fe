"""Rules the test suite keeps: shared helpers come from helpers.py, not from conftest or other tests."""

import ast
import glob
import os

TESTS = os.path.dirname(os.path.abspath(__file__))


def imported_modules(path: str) -> set[str]:
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_module_imports_conftest_or_another_test_module():
    offenders = {}
    for path in sorted(glob.glob(os.path.join(TESTS, "**", "*.py"), recursive=True)):
        bad = {name for name in imported_modules(path) if name == "conftest" or name.startswith("test_")}
        if bad:
            offenders[os.path.relpath(path, TESTS)] = sorted(bad)
    assert offenders == {}, "import shared helpers from helpers.py instead"
