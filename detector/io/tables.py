"""What every reader of an event or interval table shares: one way to read a yes/no column."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["TRUE_WORDS", "FALSE_WORDS", "parse_bool"]

#: Cell values read as true (lower-cased, stripped). ``plm`` is a scorer's way of marking a PLM in
#: a ``plm`` column.
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "1.0", "plm"})
#: Cell values read as false; an empty cell or NA is false too.
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "0.0", "", "nan", "none", "<na>"})


def parse_bool(values: pd.Series, *, column: str, where: Callable[[int], str]) -> np.ndarray:
    """A yes/no column as bools: True/False, true/false, yes/no, y/n, 1/0 (and ``plm``); empty
    or NA is False.

    Parameters
    ----------
    values : Series
    column : str
        The column's name, for the error message.
    where : callable
        ``where(k)`` names row ``k`` for a person, e.g. ``"events.csv, line 5"``.

    Raises
    ------
    InputError
        On any other value, naming the row, the column and the value.
    """
    if values.dtype == bool:
        return values.to_numpy()
    out = np.zeros(len(values), bool)
    for k, v in enumerate(values.tolist()):
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            continue
        if isinstance(v, (bool, np.bool_)):
            out[k] = bool(v)
            continue
        word = str(v).strip().lower()
        if word in TRUE_WORDS:
            out[k] = True
        elif word not in FALSE_WORDS:
            raise InputError(f"{where(k)}, column '{column}': {v!r}; expected true or false "
                             "(1/0, yes/no)")
    return out
