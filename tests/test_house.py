"""The house rules that can be checked from the source: every import statement at any depth
(inside functions too) is read with the ast module.

The layout (README "The house"): the folders of ``detector/`` in the order the data flows, each
importing only what lies below it (:data:`LAYERS`), no import circle, no module over
:data:`MAX_LINES` lines, no module importing another's private names or the command line."""

from __future__ import annotations

import ast
from pathlib import Path
from repo import REPO

ROOT = REPO
PACKAGES = ("detector", "firmware_bridge")
#: Longest module, in lines.
MAX_LINES = 600
#: Most modules at the top of detector/ (besides its folders).
MAX_TOP_MODULES = 12
#: The layers, bottom first: a module imports (at any depth, lazily too) only modules of its own
#: layer or below. The longest prefix of a module's name that is listed gives its layer.
LAYERS = {
    "detector.version": 0, "detector.errors": 0, "detector.config": 0, "detector.kinds": 0,
    "detector.fileio": 0, "detector.textsafe": 0, "detector.parallel": 0, "detector.presets": 0,
    "detector.moved": 0, "detector.label_classes": 0,
    "detector.io": 1, "detector.detect": 2, "detector.score": 3, "detector.report": 4,
    "detector.sim": 5, "detector.live": 5, "detector.tuning": 6, "detector.analysis": 7,
    "detector.cohort": 8, "detector.cli": 10, "detector": 11,
    "firmware_bridge.protocols": 0, "firmware_bridge.rawlog": 8, "firmware_bridge.assembler": 8,
    "firmware_bridge.store": 8, "firmware_bridge.client": 8, "firmware_bridge.sim": 8,
    "firmware_bridge.bench_record": 8, "firmware_bridge.recorder": 9, "firmware_bridge": 9,
}


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the packages."""
    out = {}
    for pkg in PACKAGES:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(f.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = f
    return out


def imports(mods: dict[str, Path]) -> list[tuple[str, str, str | None]]:
    """``(importer, imported module, imported name or None)`` for every import statement."""
    out = []
    for mod, path in mods.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                out += [(mod, a.name, None) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for a in node.names:
                    full = f"{target}.{a.name}"
                    out.append((mod, full, None) if full in mods else (mod, target, a.name))
    resolved = []
    for importer, target, name in out:
        while target and target not in mods:
            target = target.rpartition(".")[0]
        if target and target != importer:
            resolved.append((importer, target, name))
    return resolved


def layer(module: str) -> int:
    """The layer of a module (see :data:`LAYERS`)."""
    parts = module.split(".")
    for k in range(len(parts), 0, -1):
        if ".".join(parts[:k]) in LAYERS:
            return LAYERS[".".join(parts[:k])]
    raise KeyError(f"{module} is in no layer: add it to LAYERS")


def circles(edges: set[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle():
    edges = {(a, b) for a, b, _ in imports(modules())}
    assert not circles(edges), circles(edges)


def test_the_circle_finder_finds_a_circle():
    assert circles({("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}) == [["a", "b", "c"]]
    assert circles({("a", "b"), ("b", "c")}) == []


def test_every_import_points_down_the_layers():
    found = [f"{a} (layer {layer(a)}) imports {b} (layer {layer(b)})"
             for a, b, _ in imports(modules()) if layer(b) > layer(a)]
    assert not found, "\n".join(sorted(set(found)))


def test_modules_are_short_and_the_top_of_detector_is_small():
    long = {m: n for m, p in modules().items()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, long
    top = sorted(p.name for p in (ROOT / "detector").glob("*.py"))
    assert len(top) <= MAX_TOP_MODULES, top


def test_protocols_are_objects_not_names_tested_in_the_code():
    # The BLE side picks a protocol object once (firmware_bridge.protocols.sensors); nothing
    # outside the protocols compares a protocol's name with == / != / in.
    names = {"legaccel", "polar"}
    found = []
    for mod, path in modules().items():
        if not mod.startswith("firmware_bridge") or mod.startswith("firmware_bridge.protocols"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare):
                consts = [c for c in [node.left, *node.comparators]
                          if isinstance(c, ast.Constant) and c.value in names]
                if consts:
                    found.append(f"{mod}:{node.lineno}")
    assert not found, found


def test_no_module_imports_another_modules_private_names():
    found = [f"{a} imports {n} from {b}" for a, b, n in imports(modules())
             if n and n.startswith("_") and not n.startswith("__")]
    assert not found, "\n".join(found)


def test_no_library_module_imports_the_command_line():
    found = [f"{a} imports {b}" for a, b, _ in imports(modules())
             if (b == "detector.cli" or b.startswith("detector.cli."))
             and not a.startswith("detector.cli")]
    assert not found, "\n".join(found)


def test_the_scan_sees_imports_inside_functions():
    # the scan must not only read module-level imports: a known lazy import is in it
    edges = {(a, b) for a, b, _ in imports(modules())}
    assert ("detector.cli.many_nights", "detector.cohort.batch") in edges


def test_one_boolean_parser_for_every_event_table(tmp_path):
    # evaluate's reader and the reference reader used to disagree on a scorer's "plm" marker
    import pytest

    from detector.errors import InputError
    from detector.io.tables import read_events
    from detector.score.reference import read_reference

    path = tmp_path / "scored.csv"
    path.write_text("start_s,end_s,kind,plm\n10,12,lm,plm\n30,32,lm,Yes\n50,52,lm,0\n70,72,lm,\n")
    assert read_events(path)["plm"].tolist() == [True, True, False, False]
    assert read_reference(path).events["plm"].tolist() == [True, True, False, False]
    path.write_text("start_s,end_s,kind,plm\n10,12,lm,true\n30,32,lm,maybe\n")
    with pytest.raises(InputError, match=r"line 3, column 'plm': 'maybe'; expected true or false"):
        read_events(path)
    with pytest.raises(InputError, match=r"column 'plm': 'maybe'; expected true or false"):
        read_reference(path)
