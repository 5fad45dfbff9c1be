"""The queue package without cycles: the JSON API shares code with the pages, never their views."""
from __future__ import annotations

import ast
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
VIEW_MODULES = ("views", "action_views")


def _imports(path: Path) -> set[str]:
    """Absolute names of what a module imports (relative imports resolved against its package)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            names |= {f"{base}.{alias.name}" for alias in node.names} | {base}
    return names


def test_the_api_imports_no_view_module():
    offenders = {f"{path.relative_to(ROOT)} imports {name}"
                 for path in (ROOT / "inbox" / "api").rglob("*.py") for name in _imports(path)
                 if name.startswith("inbox.") and not name.startswith("inbox.api.")
                 and name.rsplit(".", 1)[-1] in VIEW_MODULES}
    assert not offenders, sorted(offenders)


def test_no_view_module_imports_another_packages_views():
    """A page needing the ticket loader takes it from inbox.queue.pane, not from the queue's views."""
    offenders = set()
    for path in (ROOT / "inbox").rglob("*views.py"):
        own = ".".join(path.relative_to(ROOT).parts[:2])
        offenders |= {f"{path.relative_to(ROOT)} imports {name}" for name in _imports(path)
                      if name.startswith("inbox.") and not name.startswith(own + ".")
                      and any(part in VIEW_MODULES for part in name.split(".")[2:])}
    assert not offenders, sorted(offenders)


def test_importing_the_queue_package_registers_all_its_routes():
    """app.py registers ``inbox.queue.bp`` and needs no side-effect import of a view module."""
    import inbox.queue

    app = Flask(__name__)
    app.register_blueprint(inbox.queue.bp)
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert {"queue.index", "queue.rows", "queue.ticket", "queue.actions", "queue.act", "queue.inject"} <= endpoints
    assert "noqa" not in "".join(line for line in (ROOT / "app.py").read_text().splitlines() if "import inbox." in line)
