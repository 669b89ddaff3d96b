"""The import package's modules depend on each other in one direction, and the generic bulk
helpers in opsx/ know nothing of the apps. Read from the source (ast), nothing is imported."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "prospects" / "importing"
BULK = ROOT / "opsx" / "bulk.py"


def _first_party() -> set[str]:
    """The project's own top-level packages (a folder with an __init__.py)."""
    return {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}


def _imported(path: Path, package: str) -> set[str]:
    """Every module the file imports, as dotted absolute names (relative imports resolved
    against `package`, the file's package); `from x import y` also yields x.y, which is a
    module when y is one."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _graph() -> dict[str, set[str]]:
    """Module of the package -> the modules of the package it imports ("__init__" for the
    package itself)."""
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    graph = {}
    for module in modules:
        imported = _imported(PACKAGE / f"{module}.py", "prospects.importing")
        graph[module] = {
            "__init__" if name == "prospects.importing" else name.rsplit(".", 1)[1]
            for name in imported
            if name == "prospects.importing"
            or (
                name.startswith("prospects.importing.")
                and name.rsplit(".", 1)[1] in modules
                and name.count(".") == 2
            )
        } - {module}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path (first == last), or None."""
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for child in sorted(graph.get(node, ())):
            if state.get(child) == "open":
                return [*path[path.index(child) :], child]
            if child not in state and (found := visit(child, [*path, child])):
                return found
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node, [node])):
            return found
    return None


def test_the_import_is_a_package_with_one_module_per_concern():
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    expected = {"reading", "mapping", "batches", "writer", "planner", "pipeline", "jobs"}
    assert expected <= modules, f"missing: {sorted(expected - modules)}"


def test_the_import_modules_import_each_other_without_a_cycle():
    graph = _graph()
    assert graph, "prospects/importing/ has no modules"
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph))}"
    # The order the package is built in, not only its absence of cycles.
    assert "mapping" not in graph["reading"] and "reading" in graph["mapping"]
    assert {"planner", "writer"} <= graph["pipeline"] and "pipeline" in graph["jobs"]
    assert not graph["pipeline"] & {"jobs", "__init__"}
    assert not (graph["planner"] | graph["writer"]) & {"pipeline", "jobs", "__init__"}
    # the file formats are leaves that only reading knows
    assert {"excel", "vcard"} <= graph["reading"] and not graph["excel"] | graph["vcard"]


def test_the_cycle_finder_finds_one():
    """The check above cannot pass by missing a cycle."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_generic_bulk_helpers_import_no_app_of_ours():
    assert BULK.exists(), "opsx/bulk.py is missing"
    ours = _first_party()
    assert {"opsx", "prospects", "clients"} <= ours
    imported = _imported(BULK, "opsx")
    assert not {name for name in imported if name.split(".")[0] in ours}, imported
