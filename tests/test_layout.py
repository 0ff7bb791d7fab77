"""Package boundaries: core/ holds the service's rules and imports no framework; ops/ runs the
service and nothing at run time imports it; one module reads the environment."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = ("rasa", "rasa_sdk", "aiohttp", "telegram", "sanic")
RUNTIME = ("bot", "core", "actions", "components", "services")
SETTINGS = ROOT / "core" / "settings.py"


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


def test_the_gateway_does_not_reach_into_the_action_server_or_the_nlu():
    for path in (ROOT / "bot").rglob("*.py"):
        for module in imported_modules(path):
            assert module.split(".")[0] not in ("actions", "components"), f"{path} imports {module}"


def test_the_model_is_retrained_when_the_core_code_it_reads_text_with_changes():
    from components.trained_text_component import MODEL_CORE_MODULES

    used = {
        module.split(".")[1] + ".py"
        for path in (ROOT / "components").glob("*.py")
        for module in imported_modules(path)
        if module.startswith("core.")
    }
    assert used <= set(MODEL_CORE_MODULES)
    for name in MODEL_CORE_MODULES:  # and only those: core imports nothing else the model would miss
        assert all(
            not m.startswith("core.") or m.split(".")[1] + ".py" in MODEL_CORE_MODULES
            for m in imported_modules(ROOT / "core" / name)
        )


def test_nothing_at_run_time_imports_the_process_supervisor():
    for package in RUNTIME:
        for path in (ROOT / package).rglob("*.py"):
            for module in imported_modules(path):
                assert module.split(".")[0] != "ops", f"{path} imports {module}"


def test_the_process_supervisor_runs_the_services_but_reaches_into_no_action_or_nlu_code():
    paths = list((ROOT / "ops").rglob("*.py"))
    assert paths
    for path in paths:
        for module in imported_modules(path):
            assert module.split(".")[0] not in ("actions", "components"), f"{path} imports {module}"


def reads_the_environment(path: Path):
    """Where the file reads os.environ or getenv (or imports them), by line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "environb", "getenv", "getenvb"):
            yield node.lineno
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(alias.name in ("environ", "environb", "getenv", "getenvb") for alias in node.names)
        ):
            yield node.lineno


def test_the_environment_is_read_in_the_settings_module_only():
    assert list(reads_the_environment(SETTINGS))
    for package in RUNTIME + ("ops",):
        for path in (ROOT / package).rglob("*.py"):
            if path != SETTINGS:
                assert not list(reads_the_environment(path)), f"{path} reads the environment"
