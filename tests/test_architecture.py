"""The shape of the code: no import cycles between pingan modules (imports inside functions count),
and only the composition roots know the scheduler (docs/architecture.md)."""

import ast
from pathlib import Path

PINGAN = Path(__file__).resolve().parents[1] / "pingan"
# they start the scheduler; everything else is told nothing of time
ROOTS = {"pingan.bot.server", "pingan.bot.demo"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PINGAN.rglob("*.py"):
        parts = list(path.relative_to(PINGAN.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str) -> set[str]:
    """Every pingan module `module` imports, anywhere in it, plus the packages whose __init__ that runs."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text("utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            target = _resolve(name)
            if target is None or target == module:
                continue
            found.add(target)
            parts = target.split(".")
            for i in range(2, len(parts)):  # importing a.b.c runs a.b's __init__ (unless we are inside a.b)
                package = ".".join(parts[:i])
                if package in MODULES and not module.startswith(package + "."):
                    found.add(package)
    return found


GRAPH = {m: imports(m) for m in MODULES}


def cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    assert cycles() == []


def test_the_cycle_finder_finds_one():
    GRAPH["pingan.lifecycle"].add("pingan.tickets")  # tickets imports lifecycle: a cycle
    try:
        assert any({"pingan.lifecycle", "pingan.tickets"} <= set(c) for c in cycles())
    finally:
        GRAPH["pingan.lifecycle"].discard("pingan.tickets")


def test_only_the_composition_roots_import_the_scheduler():
    importers = {m for m, deps in GRAPH.items() if any(d.split(".")[:2] == ["pingan", "scheduler"] for d in deps)}
    assert {m for m in importers if not m.startswith("pingan.scheduler")} <= ROOTS
    assert "pingan.reports.publish" not in importers and "pingan.handlers.statistics" not in importers


def test_rules_know_neither_the_desk_nor_the_handlers_nor_the_platforms():
    for module, deps in GRAPH.items():
        if module.startswith("pingan.rules"):
            assert not {d for d in deps if d.startswith(("pingan.tickets", "pingan.handlers", "pingan.bot",
                                                          "pingan.scheduler", "pingan.reports"))}, module


def raw_queries(source: str) -> list[str]:
    """The calls in `source` that build or run a query: select(...), session.exec/execute(...)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if name in {"select", "exec", "execute"}:
                found.append(f"{node.lineno}: {name}(")
    return found


def test_handlers_call_named_queries_and_write_none():
    """Handlers read like the rules they implement: what they ask of the tables is a named function
    (pingan/models/queries.py, the desk), never a query of their own."""
    found = {m: raw_queries(p.read_text("utf-8")) for m, p in MODULES.items() if m.startswith("pingan.handlers")}
    assert len(found) > 10
    assert {m: q for m, q in found.items() if q} == {}


def test_the_query_finder_finds_them():
    src = "async def f(ctx):\n    return (await ctx.session.exec(select(Ticket).where(x))).all()\n"
    assert sorted(raw_queries(src)) == ["2: exec(", "2: select("]
