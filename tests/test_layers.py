"""The structure of `surveys/` (docs/architecture.md, "Layers"), read with the standard
library's `ast`: every module sits on a floor its folder names, the layers table lists every one
of them, no import runs upwards or in a cycle, and the runtime app never imports the benchmarks.
And the rules table of the same page names one module, which exists, as each rule's home."""

import ast
import functools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "surveys"
#: The apps whose modules the layers place: the domain, and the delivery layer beside it.
APPS = ("surveys", "delivery")
ARCHITECTURE = ROOT / "docs" / "architecture.md"

#: The floors, lowest first: each may import its own and those below, never one above.
FLOOR_NAMES = ("ground", "vocabulary", "gatekeepers", "engine", "reads", "writes", "entry points")
GROUND, VOCABULARY, GATEKEEPERS, ENGINE, READS, WRITES, ENTRY = range(len(FLOOR_NAMES))

#: Where each module of `surveys/` stands: the longest prefix that names it. A package names its
#: floor for everything in it; the entry points are where Django and Celery look for them.
FLOORS = {
    "surveys.core": GROUND,
    "surveys.privacy.rules": GROUND,  # imports nothing of the product: the models stand on it
    "surveys.models": VOCABULARY,
    "surveys.access": GATEKEEPERS,
    "surveys.engine": ENGINE,
    "surveys.privacy": ENGINE,
    "surveys.selectors": READS,
    "surveys.presentation": READS,  # shapes what the selectors read; the dashboard selector uses it
    "surveys.services": WRITES,
    "surveys.admin": ENTRY,
    "surveys.api": ENTRY,
    "surveys.scim": ENTRY,
    "surveys.apps": ENTRY,
    "surveys.context_processors": ENTRY,
    "surveys.demo": ENTRY,
    "surveys.forms": ENTRY,
    "surveys.management": ENTRY,
    "surveys.middleware": ENTRY,
    "surveys.signin": ENTRY,
    "surveys.sso": ENTRY,
    "surveys.tasks": ENTRY,
    "surveys.templatetags": ENTRY,
    "surveys.urls": ENTRY,
    "surveys.views": ENTRY,
    # The delivery layer (delivery/): channels know nothing of the product; sending is a write.
    "delivery.channels": GROUND,
    "delivery.models": VOCABULARY,
    "delivery.selectors": READS,
    "delivery.services": WRITES,
    "delivery.apps": ENTRY,
    "delivery.tasks": ENTRY,
    "delivery.urls": ENTRY,
    "delivery.management": ENTRY,
    "delivery.views": ENTRY,
    "delivery.standin": ENTRY,  # the stand-in for Slack's Web API, for the tests and the demo
}

#: Module (or package) prefix -> prefixes it must never import, though the floors would allow it.
FORBIDDEN = {
    # The auditor checks suppression and aggregation: it must not share their code.
    "surveys.privacy.audit": ("surveys.privacy.suppression", "surveys.engine.aggregation"),
    # Services name the tasks they queue (surveys.core.enqueue); the tasks call the services.
    "surveys.services": ("surveys.tasks",),
    "delivery.services": ("surveys.tasks", "delivery.tasks"),
}

#: Benchmarks live outside the runtime app (`benchmarks/`); only the command that runs them
#: imports them, and lazily.
BENCHMARK_COMMAND = "surveys.management.commands.benchmark"


@functools.cache
def _modules() -> dict[str, Path]:
    modules = {}
    for path in (path for app in APPS for path in (ROOT / app).rglob("*.py")):
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


@functools.cache
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


def _floor(module: str) -> int | None:
    """The floor of `module`: that of the longest prefix FLOORS names, or None."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in FLOORS:
            return FLOORS[prefix]
    return None


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_every_module_stands_on_a_floor():
    unplaced = sorted(name for name in _modules() if name not in APPS and _floor(name) is None)
    assert unplaced == [], "place each in a floor's package, or name it in FLOORS and docs/architecture.md"


def test_the_floor_finder_takes_the_longest_prefix():
    assert _floor("surveys.privacy.rules") == GROUND
    assert _floor("surveys.privacy.audit") == ENGINE
    assert _floor("surveys.core.tenancy") == GROUND
    assert _floor("surveys.scoring") is None


def test_no_import_runs_to_a_higher_floor():
    upward = sorted(
        f"{module} ({FLOOR_NAMES[_floor(module)]}) imports {target} ({FLOOR_NAMES[_floor(target)]})"
        for module, targets in _graph().items()
        if module not in APPS
        for target in targets
        if target not in APPS and _floor(target) > _floor(module)
    )
    assert upward == []


def test_every_floor_package_holds_modules_of_its_floor_only():
    """A floor's package is its folder: nothing inside it is placed on another floor, except
    the privacy rules, which the models (one floor up) stand on."""
    packages = {
        prefix: floor for prefix, floor in FLOORS.items() if (PACKAGE.parent / prefix.replace(".", "/")).is_dir()
    }
    mixed = sorted(
        prefix
        for prefix in FLOORS
        for package, floor in packages.items()
        if prefix != package and _within(prefix, package) and FLOORS[prefix] != floor
    )
    assert mixed == ["surveys.privacy.rules"]


def _layers_table() -> dict[str, set[str]]:
    """The layers table of docs/architecture.md: floor -> the modules and packages it names
    (as dotted paths under `surveys`)."""
    text = ARCHITECTURE.read_text()
    table = text[text.index("| floor | modules | knows |") :].split("\n\n", 1)[0]
    named: dict[str, set[str]] = {}
    for line in table.splitlines()[2:]:
        floor, modules = (cell.strip() for cell in line.strip("|").split("|")[:2])
        paths = re.findall(r"`([a-z_/]+(?:\.py|/))`", modules)
        dotted = (path.removesuffix(".py").strip("/").replace("/", ".") for path in paths)
        named[floor] = {name if name.split(".")[0] in APPS else f"surveys.{name}" for name in dotted}
    return named


def test_the_layers_table_places_every_module_where_the_test_does():
    table = _layers_table()
    assert list(table) == list(FLOOR_NAMES)
    assert {floor: table[floor] for floor in FLOOR_NAMES} == {
        name: {prefix for prefix, floor in FLOORS.items() if floor == number} for number, name in enumerate(FLOOR_NAMES)
    }


def test_the_rules_table_names_one_existing_module_per_rule():
    text = ARCHITECTURE.read_text()
    table = text[text.index("| rule | one home |") :].split("\n\n", 1)[0]
    rows = [line.strip("|").split("|") for line in table.splitlines()[2:]]
    assert len(rows) > 20
    for rule, home in rows:
        modules = re.findall(r"`([a-z_/]+\.py)`", home)
        assert len(modules) == 1, f"{rule.strip()}: {modules}"
        assert home.strip().startswith(f"`{modules[0]}`"), rule
        assert (PACKAGE / modules[0]).is_file() or (ROOT / modules[0]).is_file(), modules[0]


def test_only_the_benchmark_command_imports_the_benchmarks():
    importers = sorted(
        name
        for name, path in _modules().items()
        if any(_within(target, "benchmarks") for target in _imported(name, path))
    )
    assert importers == [BENCHMARK_COMMAND]


@pytest.mark.parametrize("lower", sorted(FORBIDDEN))
def test_modules_never_import_what_they_must_not_share(lower):
    offending = {
        (module, target)
        for module, targets in _graph().items()
        if _within(module, lower)
        for target in targets
        if any(_within(target, banned) for banned in FORBIDDEN[lower])
    }
    assert offending == set()
