"""The codebase's shape, checked: layers, no import cycles, no global state, the library API.

Layers (README "Layout"): ``core/``, ``voice/`` and the plumbing beside them (``hall``, ``store``,
``config``, ``settings``, ``errors``) are plain Python; ``services/`` is plain Python behind
pages; only ``web/`` (and ``cli/`` through it) knows Flask and Socket.IO.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "hallserver"
WEB_FRAMEWORKS = ("flask", "flask_socketio", "flask_babel", "flask_wtf", "flask_limiter", "socketio", "engineio")


def module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imported_modules(name, path):
    """Every hallserver module ``name`` imports, at the top or inside functions."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:   # ``from . import access``
                    yield f"{target}.{alias.name}"
                elif target in MODULES:
                    yield target


def third_party_imports(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            yield (node.module or "").split(".")[0]


def test_the_module_finder_sees_the_layers():
    assert {"hallserver.web", "hallserver.web.push", "hallserver.core.tickets", "hallserver.services.reports",
            "hallserver.voice.pack", "hallserver.cli"} <= set(MODULES)
    assert "hallserver.web.extensions" in set(imported_modules("hallserver.web.push", MODULES["hallserver.web.push"]))


def test_no_import_cycles():
    graph = {name: set(imported_modules(name, path)) - {name} for name, path in MODULES.items()}
    cycles = []
    state = {}

    def visit(name, trail):
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                cycles.append(trail[trail.index(target):] + [target])
            elif target not in state:
                visit(target, trail + [target])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_no_global_statements_in_the_hub():
    found = [f"{module_name(path)}:{node.lineno}" for path in MODULES.values()
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(node, ast.Global)]
    assert found == []


@pytest.mark.parametrize("layer", ["core", "voice", "services", "hall", "store", "config", "settings", "errors"])
def test_plain_python_layers_know_no_web_framework(layer):
    paths = [path for name, path in MODULES.items() if name.split(".")[1:2] == [layer]]
    assert paths
    for path in paths:
        assert not set(third_party_imports(path)) & set(WEB_FRAMEWORKS), path
        if layer != "services":   # services may hash passwords with werkzeug.security
            assert "werkzeug" not in set(third_party_imports(path)), path


def test_the_library_api_keeps_importing():
    from hallserver import create_app
    from hallserver.config import demo_config, parse_config
    from hallserver.hall import Hall
    from hallserver.store import open_store

    assert all(callable(thing) for thing in (create_app, demo_config, parse_config, Hall, open_store))


def test_test_modules_share_through_helpers_and_fixtures_only():
    """Plain helpers live in tests/helpers.py, fixtures in conftest.py: no test module imports
    another test module or conftest (inside functions neither), so each runs on its own."""
    tests = Path(__file__).resolve().parent
    found = []
    for path in sorted(tests.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                leaf = name.removeprefix("tests.")
                if leaf.startswith("test_") or leaf == "conftest":
                    found.append(f"{path.name}:{node.lineno} imports {name}")
    assert found == []
