"""Package boundaries: core/ holds the service's rules and imports no framework."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = ("rasa", "rasa_sdk", "aiohttp", "telegram", "sanic")


def imported_modules(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_core_imports_no_framework():
    for path in (ROOT / "core").rglob("*.py"):
        for module in imported_modules(path):
            assert module.split(".")[0] not in FRAMEWORKS, f"{path.name} imports {module}"
