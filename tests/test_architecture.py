"""The layout's promises, checked on the source (no database).

- One scoping door: only ``students/scoping.py`` reads a scope's id sets.
- Dependencies point one way: students ← casework ← accountability ← reporting.
- No import cycles between the project's modules.
"""

import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
APPS = ("students", "casework", "accountability", "reporting")
PACKAGES = (*APPS, "config", "bench")
SCOPE_ID_SETS = frozenset({"school_ids", "county_ids", "classroom_ids"})
SCOPING_MODULE = ROOT / "students" / "scoping.py"


def source_files() -> list[pathlib.Path]:
    files = []
    for package in PACKAGES:
        folder = ROOT / package
        if folder.is_dir():
            files += [p for p in folder.rglob("*.py") if "migrations" not in p.parts]
    return sorted(files)


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def scope_id_set_reads(source: str, filename: str = "<source>") -> list[str]:
    """Where ``source`` reads ``.school_ids`` / ``.county_ids`` / ``.classroom_ids`` ("file:line attr")."""
    tree = ast.parse(source, filename=filename)
    return [
        f"{filename}:{node.lineno} .{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in SCOPE_ID_SETS
    ]


def imported_modules(path: pathlib.Path) -> set[str]:
    """Every project module ``path`` imports, at any depth of the file (function-level imports too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in PACKAGES}


def test_only_scoping_reads_scope_id_sets():
    offenders = []
    for path in source_files():
        if path == SCOPING_MODULE:
            continue
        offenders += scope_id_set_reads(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert offenders == [], "scope id sets read outside students/scoping.py (ask a scoping helper instead)"


TEMPLATE_SCOPE_READ = re.compile(r"\.(school_ids|county_ids|classroom_ids)\b")


def test_templates_ask_the_scope_instead_of_reading_its_id_sets():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "templates").rglob("*.html"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if TEMPLATE_SCOPE_READ.search(line)
    ]
    assert offenders == []
    assert TEMPLATE_SCOPE_READ.search("{% if nav_scope.county_ids %}")


def test_scope_reader_check_catches_a_violation():
    # The check above is only worth something if it would fail on a real violation.
    snippet = (
        "from students import scoping\n"
        "def schools(user):\n"
        "    scope = scoping.scope_for(user)\n"
        "    return School.objects.filter(pk__in=scope.school_ids)\n"
    )
    assert scope_id_set_reads(snippet, "reporting/x.py") == ["reporting/x.py:4 .school_ids"]
    assert scope_id_set_reads("scope.manages_school(school)\n") == []


@pytest.mark.parametrize("app", APPS)
def test_apps_import_only_apps_to_their_left(app):
    right = set(APPS[APPS.index(app) + 1 :]) | {"bench"}
    offenders = sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
        for name in imported_modules(path)
        if name.split(".")[0] in right
    )
    assert offenders == []


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle in ``graph`` (module → modules it imports), or []."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


def test_no_import_cycles():
    modules = {module_name(p): p for p in source_files()}
    graph = {
        name: {target for target in imported_modules(path) if target in modules and target != name}
        for name, path in modules.items()
    }
    # A package's __init__ importing its own submodules is how packages re-export; not a cycle.
    for name in graph:
        graph[name] = {t for t in graph[name] if not (name.startswith(f"{t}.") and modules[t].name == "__init__.py")}
    assert find_cycle(graph) == []


def test_cycle_check_catches_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []
