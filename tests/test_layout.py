"""The package layout's one-way arrows, checked on the source with `ast` (nothing imported).

- nothing under `csbridge/` imports `csbridge_sandbox`, except the lazy import in the
  command function that runs the sandbox (`demo` and `sandbox serve` go through it);
- `csbridge/connectors/` never imports `csbridge.sync` (nor the commands or webhooks);
- `csbridge/http/` names no connector and no config: vendors pass their details in;
- a vendor folder never imports another vendor's folder;
- `csbridge_sandbox/` imports nothing of `csbridge` (it must not share its assumptions);
- `sync/pull.py` and `sync/run.py` name no vendor: they read the registry.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENDORS = ("zendesk", "mixpanel", "salesforce", "hubspot")
LAZY_SANDBOX_IMPORT = ("csbridge/commands/sandbox.py", "sandbox_runner")


def _imports(path: Path) -> Iterator[tuple[str, str | None]]:
    """(imported module, enclosing function or None) for every import in `path`."""
    tree = ast.parse(path.read_text(), str(path))

    def walk(node: ast.AST, function: str | None) -> Iterator[tuple[str, str | None]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, function
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                yield child.module, function
                for alias in child.names:  # `from csbridge import sync` imports csbridge.sync
                    yield f"{child.module}.{alias.name}", function
            inner = (
                child.name
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
                else function
            )
            yield from walk(child, inner)

    yield from walk(tree, None)


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _violations(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in _modules(folder):
        where = path.relative_to(ROOT).as_posix()
        for module, function in _imports(path):
            if (where, function) == LAZY_SANDBOX_IMPORT and _under(module, "csbridge_sandbox"):
                continue
            if any(_under(module, bad) for bad in forbidden):
                found.append(f"{where} ({function or 'module'}) imports {module}")
    return found


def test_the_walk_sees_imports_inside_functions_and_from_lists(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from csbridge import sync\n\ndef f():\n    import csbridge_sandbox.world\n")
    assert set(_imports(sample)) == {
        ("csbridge", None),
        ("csbridge.sync", None),
        ("csbridge_sandbox.world", "f"),
    }


def test_the_product_never_imports_the_sandbox() -> None:
    assert _violations("csbridge", ("csbridge_sandbox",)) == []


def test_the_lazy_sandbox_import_is_where_the_exception_says() -> None:
    path, function = LAZY_SANDBOX_IMPORT
    assert ("csbridge_sandbox.runner", function) in set(_imports(ROOT / path))


def test_connectors_never_import_sync_commands_or_webhooks() -> None:
    forbidden = ("csbridge.sync", "csbridge.commands", "csbridge.webhooks", "csbridge.cli")
    assert _violations("csbridge/connectors", forbidden) == []


def test_http_names_no_connector_and_no_config() -> None:
    assert _violations("csbridge/http", ("csbridge.connectors", "csbridge.config")) == []


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_vendor_folder_imports_no_other_vendor(vendor: str) -> None:
    others = tuple(f"csbridge.connectors.{v}" for v in VENDORS if v != vendor)
    assert _violations(f"csbridge/connectors/{vendor}", others) == []


def test_the_sandbox_imports_nothing_of_the_product() -> None:
    assert _violations("csbridge_sandbox", ("csbridge",)) == []


@pytest.mark.parametrize("module", ["csbridge/sync/pull.py", "csbridge/sync/run.py"])
def test_pull_and_run_name_no_vendor(module: str) -> None:
    text = (ROOT / module).read_text().lower()
    assert [v for v in VENDORS if v in text] == []
