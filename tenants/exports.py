"""What every CSV export writes through, so a cell cannot run as a spreadsheet formula."""

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

# A spreadsheet reads a cell starting with one of these as a formula (tab and carriage return are how
# a formula hides behind a blank start): OWASP "CSV injection".
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """The value as a CSV cell a spreadsheet shows as text: a string starting with a formula trigger
    gets a leading apostrophe. Numbers pass unchanged (a negative number is data, not a formula);
    None becomes the empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float | Decimal):
        return value
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def csv_safe_row(values: Iterable[Any]) -> list[Any]:
    """csv_safe on each cell of a row, for `csv.writer(...).writerow(csv_safe_row(...))`."""
    return [csv_safe(value) for value in values]
