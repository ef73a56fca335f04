"""CSV cells a spreadsheet will not run: a cell that begins with = + - @ (or a tab or carriage return)
is prefixed with a quote. To be reconciled with tenants/exports.py's csv_safe once that is merged."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
