"""CSV cells that a spreadsheet would run as formulas, neutralised (OWASP "CSV injection").

A record's text (an error message, a hyperparameter, a rerun command) reaches the CSV exports verbatim, and
Excel, LibreOffice and Google Sheets evaluate a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return before one) as a formula: ``=HYPERLINK(...)`` or DDE payloads. Such text cells get a leading
single quote, which the spreadsheets show as text and drop from the value. Numbers are left as numbers,
negative ones included, and so is text that is just a number (``-0.5``): neither can be a formula.
"""
from __future__ import annotations

import re
from typing import Any

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def formula_safe(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text that a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def formula_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) are :func:`formula_safe`."""
    safe = frame.rename(columns=formula_safe)
    for col in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[col]):  # object or string columns (pandas 3 infers "str")
            safe[col] = safe[col].map(formula_safe)
    return safe
