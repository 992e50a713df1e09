"""Text search in lists (`q=`): what the user typed is matched literally."""

from sqlalchemy import ColumnElement, or_


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(q: str, *columns) -> ColumnElement[bool]:
    """Any of `columns` contains `q`, case-insensitively. LIKE's wildcards typed by the
    user (`%`, `_`) are escaped: `q=%` finds names with a percent sign, not everything."""
    pattern = f"%{_escape_like(q)}%"
    return or_(*(column.ilike(pattern, escape="\\") for column in columns))
