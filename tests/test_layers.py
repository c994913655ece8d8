"""The import structure of `surveys/`, read with the standard library's `ast`: no cycles, and
lower floors never import higher ones (docs/architecture.md, "Layers")."""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "surveys"

#: Module (or package) prefix -> prefixes it must never import, at run time or lazily.
FORBIDDEN = {
    "surveys.models": (
        "surveys.access",
        "surveys.services",
        "surveys.selectors",
        "surveys.views",
        "surveys.tasks",
        "surveys.api",
    ),
    "surveys.tenancy": ("surveys.models", "surveys.access", "surveys.services", "surveys.views"),
    "surveys.privacy.rules": ("surveys.models", "surveys.privacy.suppression", "surveys.privacy.audit"),
    "surveys.access": ("surveys.services", "surveys.selectors", "surveys.views", "surveys.forms", "surveys.tasks"),
    "surveys.selectors": ("surveys.services", "surveys.views", "surveys.forms", "surveys.tasks", "surveys.api"),
    "surveys.services": ("surveys.tasks", "surveys.views", "surveys.forms", "surveys.api"),
    # The auditor checks suppression and aggregation: it must not share their code.
    "surveys.privacy.audit": ("surveys.privacy.suppression", "surveys.aggregation", "surveys.services"),
}


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        if "migrations" in relative.parts:
            continue
        name = ".".join(relative.parts)
        modules[name.removesuffix(".__init__")] = path
    return modules


def _imported(name: str, path: Path) -> Iterator[str]:
    """Every module `name` imports, at module level or inside functions; imports needed only by
    the type checker (`if TYPE_CHECKING:`) are left out."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    stack: list[ast.AST] = [ast.parse(path.read_text())]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)
        stack.extend(ast.iter_child_nodes(node))


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        edges = set()
        for target in _imported(name, path):
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                edges.add(target)  # a module importing its own package is not an edge
        graph[name] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_there_are_no_import_cycles_in_surveys():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("lower", sorted(FORBIDDEN))
def test_lower_floors_never_import_higher_ones(lower):
    graph = _graph()
    offending = {
        (module, target)
        for module, targets in graph.items()
        if module == lower or module.startswith(lower + ".")
        for target in targets
        if any(target == banned or target.startswith(banned + ".") for banned in FORBIDDEN[lower])
    }
    assert offending == set()
