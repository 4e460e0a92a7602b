"""The import contract and the house rules of the layout, read from the source with ``ast``.

- ``probes`` imports nothing of the project; ``inventory`` imports only ``probes``;
  ``dashboards`` imports only itself, except its metric-name module ``dashboards.metrics``, which
  may read the two leaf declarations (metric families, causes) that import nothing of the project.
- Inside ``collector``: ``web`` and ``cli`` sit on top; nothing below imports them; the pure
  accounting rules import neither the database side (``accounting.sql``) nor SQLAlchemy.
- No import cycles between modules, counting imports inside functions (only ``TYPE_CHECKING``
  blocks are left out: they never run).
- An import inside a function says why on the line above or at its end (``# lazy: ...``).
- No product file over 400 lines.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("collector", "inventory", "probes", "dashboards")
FIRST_PARTY = PRODUCT
LEAF_DECLARATIONS = frozenset({"collector.metrics.families", "probes.causes"})
MAX_LINES = 400


@dataclass(frozen=True)
class Imp:
    source: str  # importing module
    target: str  # imported module (resolved to a module of the project where it is one)
    line: int
    in_function: bool
    commented: bool


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _product_files() -> list[Path]:
    return sorted(p for pkg in PRODUCT for p in (ROOT / pkg).rglob("*.py")
                  if "migrations" not in p.parts)


MODULES = {_module_name(p): p for p in _product_files()}


def _resolve(name: str) -> str | None:
    """The project module an import names (``a.b.c`` may be module ``a.b`` with attribute ``c``)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(mod: str, path: Path) -> Iterator[Imp]:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]

    def commented(node: ast.stmt) -> bool:
        """``# lazy:`` at the end of the import, or on a line above it and its neighbouring imports."""
        if "# lazy:" in lines[node.lineno - 1]:
            return True
        n = node.lineno - 2
        while n >= 0 and lines[n].strip().startswith(("from ", "import ", "# lazy:", "#")):
            if lines[n].strip().startswith("# lazy:"):
                return True
            n -= 1
        return False

    def visit(node: ast.AST, in_function: bool) -> Iterator[Imp]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    yield from visit(sub, in_function)
                continue
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] in FIRST_PARTY or in_function:
                        yield Imp(mod, _resolve(alias.name) or alias.name, child.lineno, in_function,
                                  commented(child))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - child.level + 1]
                    name = ".".join([*base, child.module] if child.module else base)
                else:
                    name = child.module or ""
                for alias in child.names:
                    full = f"{name}.{alias.name}"
                    target = _resolve(full) or _resolve(name) or name
                    yield Imp(mod, target, child.lineno, in_function, commented(child))
            else:
                yield from visit(child, inner)

    yield from visit(tree, False)


ALL = [imp for mod, path in MODULES.items() for imp in _imports(mod, path)]
PROJECT = [i for i in ALL if i.target in MODULES]


def _top(name: str) -> str:
    return name.split(".")[0]


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _violations(rule: str, allowed) -> list[str]:
    return [f"{i.source}:{i.line} imports {i.target} ({rule})" for i in PROJECT if not allowed(i)]


def test_probes_import_nothing_of_the_project() -> None:
    assert _violations("probes is the leaf", lambda i: not _under(i.source, "probes")
                       or _under(i.target, "probes")) == []


def test_inventory_imports_only_probes() -> None:
    assert _violations("inventory imports only probes", lambda i: not _under(i.source, "inventory")
                       or _top(i.target) in {"inventory", "probes"}) == []


def test_dashboards_read_only_their_metric_name_module() -> None:
    def ok(i: Imp) -> bool:
        if not _under(i.source, "dashboards"):
            return True
        if _under(i.target, "dashboards"):
            return True
        return i.source == "dashboards.metrics" and i.target in LEAF_DECLARATIONS

    assert _violations("dashboards read metric names only", ok) == []


def test_leaf_declarations_import_nothing_of_the_project() -> None:
    assert [i for i in PROJECT if i.source in LEAF_DECLARATIONS] == []


def test_web_and_cli_sit_on_top() -> None:
    def ok(i: Imp) -> bool:
        if not _under(i.source, "collector") or _under(i.source, "collector.cli"):
            return True
        if _under(i.target, "collector.cli"):
            return False
        return _under(i.source, "collector.web") or not _under(i.target, "collector.web")

    assert _violations("collector.web and collector.cli are on top", ok) == []


def test_pure_accounting_touches_no_database() -> None:
    pure = [m for m in MODULES if _under(m, "collector.accounting") and not _under(m, "collector.accounting.sql")]
    bad = [f"{i.source}:{i.line} imports {i.target}" for i in ALL if i.source in pure
           and (_under(i.target, "collector.accounting.sql") or _top(i.target) in {"sqlalchemy", "inventory", "logging"}
                or (_top(i.target) == "collector" and not _under(i.target, "collector.accounting")))]
    assert bad == []


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for i in PROJECT:
        if i.target != i.source:
            graph[i.source].add(i.target)
    # Tarjan's strongly connected components
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    # a package's __init__ re-exporting its own submodules is not a cycle worth a failure
    real = [c for c in cycles if not all(any(_under(m, p) for p in c if MODULES[p].name == "__init__.py") for m in c)]
    assert real == []


def test_imports_inside_functions_say_why() -> None:
    bad = [f"{i.source}:{i.line} imports {i.target} inside a function without a '# lazy:' reason"
           for i in ALL if i.in_function and not i.commented]
    assert bad == []


def test_no_product_file_over_400_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in _product_files()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}, "split these by reason to change"


def test_a_probe_worker_imports_neither_the_database_nor_the_settings_libraries() -> None:
    """A worker process (``collector.workers``) pays for every module it imports, once per core:
    SQLAlchemy, pydantic and cryptography were ~45 MB of each worker's RSS."""
    code = ("import sys, collector.runtime.worker_main; "
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    loaded = set(out.split())
    assert "collector" in loaded and "probes" in loaded  # (the import did happen)
    assert not loaded & {"sqlalchemy", "pydantic", "pydantic_settings", "cryptography", "yaml", "aiohttp", "asyncpg"}
