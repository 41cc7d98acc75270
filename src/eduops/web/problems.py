"""A request's validation problems (pydantic's, from FastAPI) as a person reads them on a console page: in the
viewer's language, each naming its parameter. The API keeps pydantic's English wording."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eduops.core.i18n import gettext

PROBLEMS = {
    "missing": "is required",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_parsing": "must be true or false",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "string_pattern_mismatch": "must match {pattern}",
    "string_too_long": "must be at most {max_length} characters",
    "string_too_short": "must be at least {min_length} characters",
    "date_parsing": "must be a date such as 2026-03-01",
    "date_from_datetime_parsing": "must be a date such as 2026-03-01",
    "datetime_parsing": "must be a time such as 2026-03-01T08:00:00+08:00",
    "datetime_from_date_parsing": "must be a time such as 2026-03-01T08:00:00+08:00",
    "literal_error": "must be one of {expected}",
    "enum": "must be one of {expected}",
}


def where(loc: Sequence[object]) -> str:
    """``query.page``, ``path.run_id``: the parameter as the request names it."""
    return ".".join(str(p) for p in loc if p != "body") or "body"


def describe(error: Mapping[str, Any], lang: str) -> str:
    """One problem, e.g. ``query.page: must be at least 1`` (``query.page：不能小于 1``)."""
    template = PROBLEMS.get(str(error.get("type")))
    text = str(error.get("msg"))
    if template is not None:
        try:
            text = gettext(template, lang).format(**(error.get("ctx") or {}))
        except (KeyError, IndexError):  # a context pydantic did not give: its own words
            pass
    return gettext("{where}: {problem}", lang).format(where=where(tuple(error.get("loc", ()))), problem=text)


def page_message(errors: Sequence[Mapping[str, Any]], lang: str) -> str:
    return gettext("invalid request: {problems}", lang).format(
        problems=gettext("; ", lang).join(describe(e, lang) for e in errors))
