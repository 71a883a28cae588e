"""The tutorial notebooks are committed clean: valid, stripped, runnable code, in sync with their
generator. (Running them top to bottom is ``pytest --nbmake notebooks``.)"""

import importlib.util
import re

import pytest
from repo import REPO

nbformat = pytest.importorskip("nbformat")

NOTEBOOKS = REPO / "notebooks"
EXPECTED = ["01_quickstart.ipynb", "02_threshold_tuning.ipynb", "03_validation.ipynb",
            "04_rules.ipynb"]


def _python(source: str) -> str:
    """Cell source as plain Python: IPython magics (``%matplotlib inline``) become ``pass``."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return re.sub(r"(?m)^(\s*)[%!].*$", r"\1pass", source)
    return TransformerManager().transform_cell(source)


def test_the_four_notebooks_are_there():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_is_valid_stripped_and_compiles(name):
    path = NOTEBOOKS / name
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    assert nb.nbformat == 4
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a notebook without code"
    for i, cell in enumerate(code):
        assert cell.outputs == [], f"{name}: code cell {i} has outputs (strip them)"
        assert cell.execution_count is None, f"{name}: code cell {i} has an execution count"
        compile(_python(cell.source), f"{name}[code cell {i}]", "exec")
    # every notebook finds the repository from its working folder and plots inline
    assert "pyproject.toml" in code[0].source and "%matplotlib inline" in code[0].source
    # no machine-specific absolute paths
    assert not re.search(r"['\"]/(home|work|tmp|Users)/", "".join(c.source for c in code))


def test_notebooks_match_their_generator():
    spec = importlib.util.spec_from_file_location("make_notebooks",
                                                  NOTEBOOKS / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert sorted(module.NOTEBOOKS) == EXPECTED
    for name, cells in module.NOTEBOOKS.items():
        on_disk = nbformat.read(NOTEBOOKS / name, as_version=4)
        assert [(c.cell_type, c.source) for c in on_disk.cells] == [
            (c.cell_type, c.source) for c in module.build(cells).cells], (
            f"{name} differs from notebooks/make_notebooks.py: run "
            "python notebooks/make_notebooks.py")
