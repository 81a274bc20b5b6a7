"""The package's layers, as each ``__init__`` states them: no upward import, no import circle.

Every ``import`` counts, those inside functions included (a lazy import is still a dependency).
Imports under ``if TYPE_CHECKING:`` are annotations only and are skipped.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

import noisyexp

PACKAGE = Path(noisyexp.__file__).parent

#: lowest first: a module may import from its own package and from packages before it
LAYERS = [
    "core",
    "activations",
    "layers",
    "data",
    "models",
    "tasks",
    "config",
    "training",
    "paper",
    "reports",
    "cli",
]
#: the top-level modules: the package's front door and the old public names kept as re-exports
TOP_LEVEL = {"__init__", "__main__", "schedules"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The noisyexp modules ``name`` imports (a package's ``from pkg import mod`` -> pkg.mod)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    skip: set[int] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            skip.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "noisyexp")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module.split(".")[0] != "noisyexp":
                continue
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in known)
    return {m for m in found if m in known and m != name}


@functools.cache
def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_package_is_a_declared_layer_and_states_its_rule():
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(LAYERS)
    for name in LAYERS:
        doc = ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text()))
        assert doc and "Layer rule" in doc, name
    top = {p.stem for p in PACKAGE.glob("*.py")}
    assert top <= TOP_LEVEL, top - TOP_LEVEL


@pytest.mark.parametrize("layer", LAYERS)
def test_no_module_imports_from_a_layer_above_its_own(layer):
    rank = {name: i for i, name in enumerate(LAYERS)}
    upward = [
        f"{module} -> {target}"
        for module, targets in _graph().items()
        if _layer(module) == layer
        for target in targets
        if _layer(target) in rank and rank[_layer(target)] > rank[layer]
    ]
    assert not upward, upward


def test_the_top_level_re_exports_import_only_the_library():
    graph = _graph()
    for name in ("noisyexp", "noisyexp.schedules"):
        assert {_layer(t) for t in graph[name]} <= {"activations", "layers", "__init__"}, name


def test_there_is_no_import_circle():
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    circles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                circles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not circles, circles
