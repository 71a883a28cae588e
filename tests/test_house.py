"""The house rules that can be checked from the source: every import statement at any depth
(inside functions too) is read with the ast module."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("detector", "firmware_bridge")


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
    assert ("detector.cli.many_nights", "detector.batch") in edges


def test_one_boolean_parser_for_every_event_table(tmp_path):
    # evaluate's reader and the reference reader used to disagree on a scorer's "plm" marker
    import pytest

    from detector.errors import InputError
    from detector.evaluate import read_events
    from detector.reference import read_reference

    path = tmp_path / "scored.csv"
    path.write_text("start_s,end_s,kind,plm\n10,12,lm,plm\n30,32,lm,Yes\n50,52,lm,0\n70,72,lm,\n")
    assert read_events(path)["plm"].tolist() == [True, True, False, False]
    assert read_reference(path).events["plm"].tolist() == [True, True, False, False]
    path.write_text("start_s,end_s,kind,plm\n10,12,lm,true\n30,32,lm,maybe\n")
    with pytest.raises(InputError, match=r"line 3, column 'plm': 'maybe'; expected true or false"):
        read_events(path)
    with pytest.raises(InputError, match=r"column 'plm': 'maybe'; expected true or false"):
        read_reference(path)
