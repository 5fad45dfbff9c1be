"""The dependency directions of the layout (ARCHITECTURE.md §3), checked on every import statement.

Why: the sandboxes stand in for outside APIs, so the product must work without them and they
must be written from the providers' docs rather than from our client; connectors are adapters
that must not reach into web code; the JSON API shares domain modules with the pages, never
their views. An import anywhere in a module (also inside a function) counts.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("inbox", "models", "workers")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str | None = None) -> set[str]:
    """Every module name an import statement in ``path`` names (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = (module or _module_name(path)).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _modules(*tops: str) -> list[Path]:
    paths: list[Path] = []
    for top in tops:
        target = ROOT / top
        paths.extend(sorted(target.rglob("*.py")) if target.is_dir() else [target])
    return [p for p in paths if p.exists()]


def _offenders(paths: list[Path], forbidden) -> list[str]:
    return [f"{p.relative_to(ROOT)} imports {name}" for p in paths for name in sorted(_imports(p))
            if forbidden(name)]


def _is(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_the_checker_sees_imports_inside_functions_and_relative_ones(tmp_path):
    """The rules below are only as good as this parser: it must not miss a lazy or relative import."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from ..settings import channels\n    import sandbox.app\n")
    names = _imports(probe, "inbox.connectors.probe")
    assert "inbox.settings.channels" in names and "sandbox.app" in names


def test_the_product_never_imports_the_sandbox():
    assert _offenders(_modules(*PRODUCT, "app.py"), lambda n: _is(n, "sandbox", "inbox.simulators")) == []


def test_the_sandbox_imports_nothing_of_the_product():
    paths = _modules("sandbox")
    if not paths:
        pytest.fail("sandbox/ is missing: the provider sandboxes live there")
    assert _offenders(paths, lambda n: _is(n, *PRODUCT, "app")) == []


def test_no_sandbox_code_is_left_in_the_product_package():
    assert not (ROOT / "inbox" / "simulators").exists()


def _is_web(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return (_is(name, "flask", "flask_login", "flask_wtf", "htmx_flask", "werkzeug", "inbox.settings",
                "inbox.api", "inbox.queue", "inbox.replies", "inbox.auth", "inbox.ingest.views", "inbox.hx")
            or (name.startswith("inbox.") and (last == "views" or last.endswith("_views"))))


def test_connectors_never_import_web_or_settings_modules():
    assert _offenders(_modules("inbox/connectors"), _is_web) == []


def test_the_json_api_imports_no_view_module():
    def is_view(name: str) -> bool:
        last = name.rsplit(".", 1)[-1]
        return name.startswith("inbox.") and not name.startswith("inbox.api") and (
            last == "views" or last.endswith("_views"))

    assert _offenders(_modules("inbox/api"), is_view) == []


def test_no_view_module_imports_another_packages_views():
    """A page needing the ticket loader takes it from inbox.queue.pane, not from the queue's views."""
    def offenders(path: Path) -> list[str]:
        own = ".".join(path.relative_to(ROOT).parts[:2])
        return [f"{path.relative_to(ROOT)} imports {name}" for name in sorted(_imports(path))
                if name.startswith("inbox.") and not name.startswith(own + ".")
                and any(part in ("views", "action_views") for part in name.split(".")[2:])]

    assert [o for p in sorted((ROOT / "inbox").rglob("*views.py")) for o in offenders(p)] == []


def test_the_app_and_the_process_supervisor_do_not_import_each_other():
    assert _offenders(_modules("app.py"), lambda n: _is(n, "inbox.serve")) == []
    assert _offenders(_modules("inbox/serve.py"), lambda n: _is(n, "app")) == []
