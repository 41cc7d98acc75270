"""A bad parameter on a console page reads in the viewer's language and names the parameter."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from eduops.core.principal import Principal, current_principal
from eduops.core.workspace import Workspace
from eduops.web.app import create_app
from eduops.web.problems import describe, page_message

PAGE = ("query", "page")


@pytest.mark.parametrize(("error", "lang", "text"), [
    ({"type": "greater_than_equal", "loc": PAGE, "msg": "x", "ctx": {"ge": 1}}, "zh-CN", "query.page：不能小于 1"),
    ({"type": "greater_than_equal", "loc": PAGE, "msg": "x", "ctx": {"ge": 1}}, "en", "query.page: must be at least 1"),
    ({"type": "int_parsing", "loc": ("path", "run_id"), "msg": "x"}, "zh-CN", "path.run_id：应为整数"),
    ({"type": "string_pattern_mismatch", "loc": ("query", "view"), "msg": "x", "ctx": {"pattern": "^(week|list)$"}},
     "zh-CN", "query.view：应符合格式 ^(week|list)$"),
    ({"type": "missing", "loc": ("body", "code"), "msg": "Field required"}, "en", "code: is required"),
    ({"type": "less_than_equal", "loc": PAGE, "msg": "Input should be <= 9"}, "en",  # no ctx: pydantic's words
     "query.page: Input should be <= 9"),
    ({"type": "something_new", "loc": PAGE, "msg": "pydantic's words"}, "zh-CN", "query.page：pydantic's words"),
])
def test_describe(error: dict[str, Any], lang: str, text: str) -> None:
    assert describe(error, lang) == text


def test_several_problems_in_one_message() -> None:
    errors = [{"type": "missing", "loc": ("query", "a"), "msg": ""}, {"type": "bool_parsing", "loc": ("query", "b"),
                                                                      "msg": ""}]
    assert page_message(errors, "zh-CN") == "请求有误：query.a：必须填写；query.b：应为 true 或 false"


def test_a_page_answers_a_bad_parameter_in_chinese(sqlite_ws: Workspace) -> None:
    app = create_app(sqlite_ws)
    app.dependency_overrides[current_principal] = lambda: Principal(name="a", kind="user", role="admin")
    answer = TestClient(app, raise_server_exceptions=False).get("/runs?page=-1", headers={"accept-language": "zh-CN"})
    assert answer.status_code == 422
    assert "请求有误：query.page：不能小于 1" in answer.text
    api = TestClient(app, raise_server_exceptions=False).get("/api/v1/runs?limit=0")
    assert api.json()["problems"] == ["query.limit: Input should be greater than or equal to 1"]  # the API: English
