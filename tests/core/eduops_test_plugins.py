"""Checks a test can plug into a real `eduops serve` through the `plugins` setting."""

from __future__ import annotations

import time
from pathlib import Path

from eduops.core.checks import CheckContext, CheckResult, check


@check("testing.blocking", area="performance")
def blocking(ctx: CheckContext) -> CheckResult:
    """Holds the run while the file named by `block_file` exists (the test removes it to let go)."""
    marker = Path(ctx.params["block_file"])
    (marker.parent / "started").write_text(str(ctx.run_id))
    while marker.exists():
        time.sleep(0.05)
    return CheckResult("ok", "released")


@check("testing.quick", area="performance")
def quick(ctx: CheckContext) -> CheckResult:
    """Returns at once."""
    return CheckResult("ok", "done")
