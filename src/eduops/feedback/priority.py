"""The team's priority policy for work items, as a pure function.

A bug in a core function (classes, login, payment) is P0 and fixed now; another bug goes into the
next release; a feature many users ask for is evaluated and planned; a nice-to-have (or a feature
few ask for) goes to the backlog.
"""

from __future__ import annotations

from dataclasses import dataclass

from eduops.core.i18n import msg

CORE_FUNCTIONS = frozenset({"classes", "login", "payment"})
KINDS = ("bug", "feature", "nice-to-have")
FUNCTIONS = ("classes", "login", "payment", "content", "app", "other")


@dataclass(frozen=True)
class Decision:
    priority: str
    track: str
    reason: str


def decide_priority(kind: str, function: str, requesters: int, many_requesters: int = 20) -> Decision:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    named = msg(function.replace("_", " "))  # the function's display name, translated like the console's
    if kind == "bug" and function in CORE_FUNCTIONS:
        return Decision("P0", "fix-now", msg("a bug in a core function ({function}) is fixed now", function=named))
    if kind == "bug":
        return Decision("P1", "next-release", msg("a bug in {function} goes into the next release", function=named))
    if kind == "feature" and requesters >= many_requesters:
        return Decision("P2", "evaluate", msg(
                "{requesters} users asked for it (≥ {many_requesters}): evaluate and plan",
                requesters=requesters, many_requesters=many_requesters,
            ))
    if kind == "feature":
        return Decision("P3", "backlog", msg(
                "only {requesters} users asked for it (< {many_requesters}): backlog",
                requesters=requesters, many_requesters=many_requesters,
            ))
    return Decision("P3", "backlog", "a nice-to-have goes to the backlog")
