"""docs/architecture.md names real places: every file, module and name it points to exists,
so the map cannot drift from the code without a test failing."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
FOLDERS = ("server", "pipeline", "voices", "storage", "bench", "tests", "web", "docs")
# A path of ours, optionally followed by ": name" (a module-level name in that file).
PATH = re.compile(rf"(?<![\w/.])((?:{'|'.join(FOLDERS)})/[\w/.<>-]*\w)(?:: ?`?(\w+))?")
# The doc's worked example adds these; they do not exist on purpose.
EXAMPLE = ("acme", "<name>")


def _mentions() -> list[tuple[str, str | None]]:
    return [
        (path, name)
        for path, name in PATH.findall(DOC)
        if not any(word in path for word in EXAMPLE)
    ]


def test_every_path_the_map_names_exists() -> None:
    missing = [path for path, _ in _mentions() if not (ROOT / path).exists()]
    assert missing == [], f"docs/architecture.md names paths that do not exist: {missing}"


def test_every_name_it_gives_a_file_is_defined_there() -> None:
    missing = []
    for path, name in _mentions():
        if not name or not path.endswith(".py"):
            continue
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        if not hasattr(module, name):
            missing.append(f"{path}: {name}")
    assert missing == [], f"docs/architecture.md names what its file does not define: {missing}"


def test_dotted_names_it_gives_are_defined() -> None:
    missing = []
    for module_name, name in re.findall(
        r"`((?:server|pipeline|voices|storage)(?:\.\w+)+)\.([A-Z]\w+)`", DOC
    ):
        if not hasattr(importlib.import_module(module_name), name):
            missing.append(f"{module_name}.{name}")
    assert missing == [], missing


def _imported_packages(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_vendor_sdks_are_imported_only_where_the_map_says() -> None:
    table = DOC[DOC.index("| SDK | imported only in |") :].split("\n\n")[0]
    rows = [line.split("|")[1:3] for line in table.splitlines()[2:]]
    allowed = {
        sdk: set(re.findall(r"`([\w/.]+\.py)`", places))
        for sdks, places in rows
        for sdk in re.findall(r"`(\w+)`", sdks)
    }
    assert {"deepgram", "openai", "groq", "redis", "asyncpg"} <= set(allowed)
    strays = [
        f"{path.relative_to(ROOT)} imports {sdk}"
        for folder in ("server", "pipeline", "voices", "storage", "bench")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for sdk in _imported_packages(path) & set(allowed)
        if str(path.relative_to(ROOT)) not in allowed[sdk]
    ]
    assert strays == [], strays
