"""The layers of docs/architecture.md, read from the source: who may import whom, no circles.

voices/ and storage/ import nothing of ours; pipeline/ imports from them only their types
modules; and no module imports itself again through others. Imports are read with ``ast``,
so nothing here runs the code under test.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("server", "pipeline", "voices", "storage", "bench")
OURS = (*PACKAGES, "tests")


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    # Inside a function, so it runs on the first call rather than at import.
    deferred: bool
    # Under ``if TYPE_CHECKING:``, so it never runs.
    typing_only: bool


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _absolute(importer: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = importer if MODULES[importer].name == "__init__.py" else importer.rpartition(".")[0]
    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
    return f"{base}.{node.module}" if node.module else base


def _targets(importer: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    module = _absolute(importer, node)
    for alias in node.names:
        # ``from package import module`` names a module; ``from module import name`` does not.
        submodule = f"{module}.{alias.name}"
        yield submodule if submodule in MODULES else module


def _imports_of(module: str) -> Iterator[Import]:
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))

    def walk(node: ast.AST, deferred: bool, typing_only: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                for target in _targets(module, child):
                    if target.split(".")[0] in OURS:
                        yield Import(module, target, child.lineno, deferred, typing_only)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                yield from walk(child, True, typing_only)
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                yield from walk(child, deferred, True)
            else:
                yield from walk(child, deferred, typing_only)

    yield from walk(tree, False, False)


IMPORTS = [found for module in MODULES for found in _imports_of(module)]


def _cycles(edges: list[Import]) -> list[list[str]]:
    """Strongly connected groups of two or more modules (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for edge in edges:
        if edge.imported in graph and edge.imported != edge.importer:
            graph[edge.importer].add(edge.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group: list[str] = []
            while not group or group[-1] != module:
                group.append(stack.pop())
                on_stack.discard(group[-1])
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def _describe(imports: list[Import]) -> str:
    return "\n".join(
        f"{MODULES[i.importer].relative_to(ROOT)}:{i.line} imports {i.imported}" for i in imports
    )


def test_the_import_scan_sees_the_packages() -> None:
    # A scan that silently read nothing would pass every rule below.
    assert {"server.app", "pipeline.session", "voices.types", "storage.database"} <= set(MODULES)
    assert any(i.importer == "pipeline.session" for i in IMPORTS)


@pytest.mark.parametrize("layer", ["voices", "storage"])
def test_voices_and_storage_import_nothing_of_ours(layer: str) -> None:
    outside = [
        i
        for i in IMPORTS
        if i.importer.split(".")[0] == layer and i.imported.split(".")[0] != layer
    ]
    assert not outside, _describe(outside)


def test_pipeline_imports_only_the_types_of_voices_and_storage() -> None:
    allowed = {"voices.types", "storage.types"}
    beyond = [
        i
        for i in IMPORTS
        if i.importer.split(".")[0] == "pipeline"
        and i.imported.split(".")[0] != "pipeline"
        and i.imported not in allowed
    ]
    assert not beyond, _describe(beyond)


def test_no_import_circle_when_modules_load() -> None:
    at_load = [i for i in IMPORTS if not i.deferred and not i.typing_only]
    assert _cycles(at_load) == []


def test_no_import_circle_through_imports_inside_functions() -> None:
    # A function-level import is how a circle is usually hidden; it is one all the same.
    assert _cycles([i for i in IMPORTS if not i.typing_only]) == []
