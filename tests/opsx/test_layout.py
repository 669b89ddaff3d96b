"""Apps depend downward, read from the code itself: every module's imports (ast, function-level
and TYPE_CHECKING imports included, relative imports resolved) against the floors below.

    opsx helpers < clients < accounts < prospects < privacy, devices < website

A module imports only apps on a lower floor (its own app aside). `clients`, the ground floor,
imports no other app of ours; opsx's helper modules (mail, forms, http, models, tasks...) import
no app at all. Apps on the same floor (privacy, devices) do not import each other: that would
allow a cycle; when one needs the other, give them an order here first. Only the modules that
wire the project together may import any app: opsx/urls.py, opsx/settings.py, opsx/admin*.py
and opsx/management/."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FLOORS = {
    "opsx": 0,
    "clients": 1,
    "accounts": 2,
    "prospects": 3,
    "privacy": 4,
    "devices": 4,
    "website": 5,
}
WIRING = 6  # above every app: it imports them all, and nothing imports it


def _floor(module: str) -> int:
    return WIRING if _is_wiring(module) else FLOORS[module.split(".")[0]]


def _is_wiring(module: str) -> bool:
    parts = module.split(".")
    return (
        parts[0] == "opsx"
        and len(parts) > 1
        and (
            module in ("opsx.urls", "opsx.settings")
            or parts[1].startswith("admin")
            or parts[1] == "management"
        )
    )


def _imports(path: Path, root: Path = ROOT) -> list[tuple[str, int, str]]:
    """(importing module, line, imported module) for every import in the file at `path`."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    package = parts[:-1]
    module = ".".join(package if parts[-1] == "__init__" else parts)
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(module, node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # from ..x import y: relative to the module's package
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((module, node.lineno, target))
    return found


def _graph() -> list[tuple[str, int, str, str, str]]:
    """(module, line, imported, its app, the imported app) for each import of another app."""
    edges = []
    for app in FLOORS:
        for path in sorted((ROOT / app).rglob("*.py")):
            for module, line, target in _imports(path):
                other = target.split(".")[0]
                if other in FLOORS and other != app:
                    edges.append((module, line, target, app, other))
    return edges


def _listed(edges) -> str:
    return "\n".join(f"  {module}:{line} imports {target}" for module, line, target, *_ in edges)


def test_the_import_graph_is_read():
    """Guards the guard: a walk that found nothing would pass every other test."""
    edges = {(module, target) for module, _, target, *_ in _graph()}
    assert ("prospects.models", "clients.models") in edges
    assert ("accounts.models", "clients.models") in edges
    modules = {m for app in FLOORS for p in (ROOT / app).rglob("*.py") for m, *_ in _imports(p)}
    assert {"clients.models", "accounts.services", "prospects.views", "opsx.mail"} <= modules


def test_relative_imports_are_resolved_to_their_app(tmp_path):
    command = tmp_path / "accounts" / "management" / "commands" / "x.py"
    command.parent.mkdir(parents=True)
    command.write_text("from ...models import User\nfrom .. import y\nfrom . import z\n")
    targets = [target for _, _, target in _imports(command, root=tmp_path)]
    assert targets == ["accounts.models", "accounts.management", "accounts.management.commands"]


def test_clients_imports_no_other_app():
    wrong = [e for e in _graph() if e[3] == "clients" and _floor(e[2]) != 0]
    assert not wrong, (
        "clients is the ground floor and imports no other app (opsx's helpers aside):\n"
        + _listed(wrong)
    )


def test_opsx_helper_modules_import_no_app():
    wrong = [e for e in _graph() if e[3] == "opsx" and not _is_wiring(e[0])]
    assert not wrong, (
        "opsx's helper modules import no app (only urls, settings, admin*, management wire "
        "the project together):\n" + _listed(wrong)
    )


def test_apps_import_only_apps_on_a_lower_floor():
    wrong = [e for e in _graph() if _floor(e[2]) >= _floor(e[0])]
    assert not wrong, (
        "an app imports only apps below it (opsx helpers < clients < accounts < prospects < "
        "privacy, devices < website < opsx's wiring):\n" + _listed(wrong)
    )
