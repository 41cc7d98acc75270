"""Route parameter types with the supported range built in (see ``eduops.core.values``).

``{id}`` path segments and paging numbers are what a database column holds (a signed 64-bit
integer); a larger or negative one is answered 422 naming the parameter, never passed to a query.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from eduops.core.values import MAX_INT

Id = Annotated[int, Path(ge=0, le=MAX_INT, description="a row id (0 to 2^63-1)")]
