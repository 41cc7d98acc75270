"""xAPI 1.0.3 attachments sent with their statements as multipart/mixed: parsing, the rejection rules,
storage by hash and the multipart/mixed answer of GET ?attachments=true."""

from __future__ import annotations

import hashlib
import json
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from eduops.analytics import attachments, xapi_api
from eduops.analytics.lrs import validate_batch
from eduops.errors import UsageError

from .helpers import XAPI, day, statement

URL = "/xapi/statements"
BOUNDARY = "abcABC0123456789"
# Bytes that are not UTF-8, hold CR/LF and a line that looks like (but is not) a delimiter.
CONTENT = b"\x00\xffcertificate\r\n--abcABC012345678\r\n\r\nend\n"
SHA = hashlib.sha256(CONTENT).hexdigest()
OTHER = b"another file"
OTHER_SHA = hashlib.sha256(OTHER).hexdigest()
USAGE = "http://adlnet.gov/expapi/attachments/certificate"


def attachment(sha2: str = SHA, length: int = len(CONTENT), **extra: Any) -> dict[str, Any]:
    return {"usageType": USAGE, "display": {"en-US": "certificate"}, "contentType": "application/pdf",
            "length": length, "sha2": sha2, **extra}


def with_attachments(*atts: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return statement("a", "completed", day(0), attachments=list(atts), **extra)


def part(content: bytes, *, sha2: str | None = SHA, encoding: str | None = "binary",
         content_type: str | None = "application/pdf") -> bytes:
    headers = []
    if content_type is not None:
        headers.append(f"Content-Type: {content_type}")
    if encoding is not None:
        headers.append(f"Content-Transfer-Encoding: {encoding}")
    if sha2 is not None:
        headers.append(f"X-Experience-API-Hash: {sha2}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + content


def json_part(statements: Any, content_type: str = "application/json") -> bytes:
    return f"Content-Type: {content_type}\r\n\r\n".encode() + json.dumps(statements).encode()


def multipart(*parts: bytes, boundary: str = BOUNDARY, close: bool = True) -> bytes:
    mark = b"--" + boundary.encode()
    body = b"".join(mark + b"\r\n" + p + b"\r\n" for p in parts)
    return body + (mark + b"--\r\n" if close else b"")


GOOD = multipart(json_part(with_attachments(attachment())), part(CONTENT))


def test_a_good_body_parses_into_the_json_and_the_parts() -> None:
    json_bytes, parts = attachments.parse_multipart(b"preamble\r\n" + GOOD + b"epilogue", BOUNDARY)
    assert json.loads(json_bytes)["attachments"][0]["sha2"] == SHA
    assert parts == {SHA: ("application/pdf", CONTENT)}
    upper = multipart(json_part(with_attachments(attachment())), part(CONTENT, sha2=SHA.upper()))
    assert attachments.parse_multipart(upper, BOUNDARY)[1] == {SHA: ("application/pdf", CONTENT)}
    sha512 = hashlib.sha512(OTHER).hexdigest()
    assert sha512 in attachments.parse_multipart(multipart(json_part({}), part(OTHER, sha2=sha512)), BOUNDARY)[1]


# Each body differs from GOOD in one respect; the message names the rule it breaks.
PARSE_REJECTIONS: list[tuple[str, bytes, str]] = [
    ("first part not application/json", multipart(json_part([], "text/plain"), part(CONTENT)),
     "first part must be application/json"),
    ("first part without Content-Type", multipart(b"\r\n[]", part(CONTENT)), "first part must be application/json"),
    ("part without X-Experience-API-Hash", multipart(json_part([]), part(CONTENT, sha2=None)),
     "part 2 has no X-Experience-API-Hash"),
    ("part without Content-Transfer-Encoding", multipart(json_part([]), part(CONTENT, encoding=None)),
     "part 2 needs Content-Transfer-Encoding: binary"),
    ("part in base64", multipart(json_part([]), part(CONTENT, encoding="base64")),
     "part 2 needs Content-Transfer-Encoding: binary"),
    ("content differs from its hash", multipart(json_part([]), part(CONTENT + b"!")),
     f"is {hashlib.sha256(CONTENT + b'!').hexdigest()}, not its X-Experience-API-Hash {SHA}"),
    ("hash not hex", multipart(json_part([]), part(CONTENT, sha2="../../etc/passwd")), "is not a SHA-2 hash"),
    ("hash of a wrong length", multipart(json_part([]), part(CONTENT, sha2=SHA[:40])), "is not a SHA-2 hash"),
    ("no close delimiter", multipart(json_part([]), part(CONTENT), close=False), "close delimiter"),
    ("another boundary", multipart(json_part([]), boundary="other"), "no part starts with the delimiter"),
    ("headers without an empty line", multipart(b"Content-Type: application/json"), "must end with an empty line"),
    ("no parts at all", f"--{BOUNDARY}--\r\n".encode(), "has no parts"),
]


@pytest.mark.parametrize(("label", "body", "message"), PARSE_REJECTIONS, ids=[c[0] for c in PARSE_REJECTIONS])
def test_parser_rejections_name_the_rule(label: str, body: bytes, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        attachments.parse_multipart(body, BOUNDARY)
    assert message in caught.value.message
    assert caught.value.http_status == 400


CHECK_REJECTIONS: list[tuple[str, list[dict[str, Any]], dict[str, Any], str]] = [
    ("part matching no attachment", [with_attachments(attachment())], {SHA: 0, OTHER_SHA: 0},
     f"the part with X-Experience-API-Hash {OTHER_SHA} matches no attachment's sha2"),
    ("part with no attachments at all", [statement("a", "launched", day(0))], {SHA: 0}, "matches no attachment"),
    ("attachment without fileUrl and no part", [with_attachments(attachment(), attachment(OTHER_SHA, 12))],
     {SHA: 0}, f"attachments[1]: has no fileUrl and no multipart/mixed part with X-Experience-API-Hash {OTHER_SHA}"),
    ("second statement's attachment without part",
     [with_attachments(attachment()), with_attachments(attachment(OTHER_SHA, 12))], {SHA: 0},
     "statements[1].attachments[0]: has no fileUrl"),
    ("SubStatement attachment without part",
     [statement("a", "completed", day(0), obj=None, attachments=[attachment()]) | {"object": {
         "objectType": "SubStatement", "actor": {"mbox": "mailto:a@x.example"}, "verb": {"id": "https://x.example/v"},
         "object": {"id": "https://x.example/o"}, "attachments": [attachment(OTHER_SHA, 12)]}}],
     {SHA: 0}, "object.attachments[0]: has no fileUrl"),
]


@pytest.mark.parametrize(("label", "statements", "parts", "message"), CHECK_REJECTIONS,
                         ids=[c[0] for c in CHECK_REJECTIONS])
def test_parts_against_statements_rejections(label: str, statements: list[dict[str, Any]], parts: dict[str, Any],
                                             message: str) -> None:
    with pytest.raises(UsageError) as caught:
        attachments.check_parts(statements, parts)
    assert message in caught.value.message


def test_parts_against_statements_accepted() -> None:
    statements = [with_attachments(attachment(), attachment(OTHER_SHA, 12, fileUrl="https://x.example/f"))]
    attachments.check_parts(statements, {SHA: 0})
    attachments.check_parts(statements, {SHA: 0, OTHER_SHA.upper().lower(): 0})  # a fileUrl one may come too
    attachments.check_parts([with_attachments(attachment(SHA.upper()))], {SHA: 0})  # hashes compare in any case


def test_validation_requires_fileurl_unless_the_content_came_with_the_statement() -> None:
    statements = [with_attachments(attachment())]
    with pytest.raises(UsageError, match=r"attachments\[0\].fileUrl: is required"):
        validate_batch(statements)
    validate_batch(statements, contents={SHA})
    validate_batch([with_attachments(attachment(fileUrl="https://x.example/c.pdf"))])
    with pytest.raises(UsageError, match=r"attachments\[0\].fileUrl: must be an absolute IRI"):
        validate_batch([with_attachments(attachment(fileUrl="c.pdf"))], contents={SHA})


@pytest.mark.parametrize(("header", "expected"), [
    (f"multipart/mixed; boundary={BOUNDARY}", BOUNDARY),
    (f'multipart/mixed; boundary="{BOUNDARY} x"', f"{BOUNDARY} x"),
    ("multipart/mixed", None),
    ("multipart/mixed; boundary=", None),
    ("multipart/mixed; boundary=" + "x" * 71, None),
])
def test_boundary_of_the_content_type(header: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(UsageError, match="boundary"):
            attachments.boundary_of(header)
    else:
        assert attachments.boundary_of(header) == expected


def test_storage_by_hash(tmp_path: Path) -> None:
    attachments.save(tmp_path, {SHA: ("application/pdf", CONTENT)})
    path = tmp_path / "xapi-attachments" / SHA
    assert path.read_bytes() == CONTENT
    before = path.stat().st_mtime_ns
    attachments.save(tmp_path, {SHA: ("application/pdf", CONTENT)})  # held already: left alone
    assert path.stat().st_mtime_ns == before
    assert [p.name for p in path.parent.iterdir()] == [SHA]  # no temporary file left behind
    assert attachments.read(tmp_path, SHA.upper()) == CONTENT
    assert attachments.read(tmp_path, OTHER_SHA) is None
    assert attachments.read(tmp_path, "../xapi-attachments/" + SHA) is None


def test_built_multipart_reads_back_with_the_standard_parser() -> None:
    body, boundary = attachments.build_multipart(b'{"statements": []}', [(SHA, "application/pdf", CONTENT),
                                                                        (OTHER_SHA, "bad\r\nX: y", OTHER)])
    json_bytes, parts = attachments.parse_multipart(body, boundary)
    assert json_bytes == b'{"statements": []}'
    assert parts == {SHA: ("application/pdf", CONTENT), OTHER_SHA: ("application/octet-stream", OTHER)}


# Over HTTP


def home_of(client: TestClient) -> Path:
    return Path(client.app.state.workspace.settings.home)  # type: ignore[attr-defined]


def send(client: TestClient, body: bytes, method: str = "POST", boundary: str = BOUNDARY,
         **params: str) -> Any:
    headers = {**XAPI, "Content-Type": f"multipart/mixed; boundary={boundary}"}
    return client.request(method, URL, content=body, headers=headers, params=params)


def read_multipart(response: Any) -> list[Any]:
    """The parts of a multipart/mixed answer, read with the standard library's parser."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {response.headers['content-type']}\r\n\r\n".encode() + response.content)
    assert message.get_content_type() == "multipart/mixed"
    return list(message.iter_parts())


def test_post_with_an_attachment_part_stores_the_statement_and_the_bytes(lrs_client: TestClient) -> None:
    sid = str(uuid.uuid4())
    body = multipart(json_part(with_attachments(attachment(), id=sid)), part(CONTENT))
    r = send(lrs_client, body)
    assert r.status_code == 200, r.text
    assert r.json() == [sid]
    assert (home_of(lrs_client) / "xapi-attachments" / SHA).read_bytes() == CONTENT

    plain = lrs_client.get(URL, params={"statementId": sid}, headers=XAPI)
    assert plain.headers["content-type"] == "application/json"
    assert plain.json()["attachments"][0]["sha2"] == SHA

    for params in ({"statementId": sid, "attachments": "true"}, {"attachments": "true"}):
        got = lrs_client.get(URL, params=params, headers=XAPI)
        assert got.status_code == 200
        assert got.headers["content-type"].startswith("multipart/mixed; boundary=")
        assert "Last-Modified" in got.headers and got.headers["X-Experience-API-Version"] == "1.0.3"
        first, second = read_multipart(got)
        assert first.get_content_type() == "application/json"
        document = json.loads(first.get_payload(decode=True))
        found = document if "statementId" in params else document["statements"][0]
        assert found["id"] == sid
        assert second["X-Experience-API-Hash"] == SHA
        assert second["Content-Transfer-Encoding"] == "binary"
        assert second.get_content_type() == "application/pdf"
        assert second.get_payload(decode=True) == CONTENT
        assert hashlib.sha256(second.get_payload(decode=True)).hexdigest() == SHA
        # and our own reader agrees
        boundary = attachments.boundary_of(got.headers["content-type"])
        assert attachments.parse_multipart(got.content, boundary)[1] == {SHA: ("application/pdf", CONTENT)}


def test_get_attachments_true_leaves_out_contents_held_only_by_fileurl(lrs_client: TestClient) -> None:
    sid = str(uuid.uuid4())
    s = with_attachments(attachment(OTHER_SHA, 12, fileUrl="https://x.example/f.pdf"), id=sid)
    assert lrs_client.post(URL, json=s, headers=XAPI).status_code == 200
    got = lrs_client.get(URL, params={"statementId": sid, "attachments": "true"}, headers=XAPI)
    [only] = read_multipart(got)
    assert json.loads(only.get_payload(decode=True))["id"] == sid


def test_json_only_statement_with_an_attachment_without_fileurl_is_400(lrs_client: TestClient) -> None:
    sid = str(uuid.uuid4())
    r = lrs_client.post(URL, json=with_attachments(attachment(), id=sid), headers=XAPI)
    assert r.status_code == 400
    assert r.json()["error"].startswith("attachments[0].fileUrl: is required")
    assert lrs_client.get(URL, params={"statementId": sid}, headers=XAPI).status_code == 404


def test_fileurl_only_attachment_is_still_accepted_as_json(lrs_client: TestClient) -> None:
    s = with_attachments(attachment(fileUrl="https://lms.example.edu/certs/1.pdf"))
    r = lrs_client.post(URL, json=s, headers=XAPI)
    assert r.status_code == 200
    got = lrs_client.get(URL, params={"statementId": r.json()[0]}, headers=XAPI).json()
    assert got["attachments"][0]["fileUrl"] == "https://lms.example.edu/certs/1.pdf"


@pytest.mark.parametrize(("label", "body", "message"), [
    ("content does not match its hash", multipart(json_part(with_attachments(attachment())), part(CONTENT + b"x")),
     "the SHA-2 of its content"),
    ("part matching no attachment",
     multipart(json_part(with_attachments(attachment())), part(CONTENT), part(OTHER, sha2=OTHER_SHA)),
     "matches no attachment"),
    ("attachment without its part", multipart(json_part(with_attachments(attachment()))),
     "attachments[0].fileUrl: is required"),
    ("invalid statement", multipart(json_part(with_attachments(attachment(), result={"success": "yes"})),
                                    part(CONTENT)), "result.success"),
])
def test_rejected_multipart_posts_store_nothing(lrs_client: TestClient, label: str, body: bytes,
                                                message: str) -> None:
    r = send(lrs_client, body)
    assert r.status_code == 400
    assert message in r.json()["error"]
    assert not (home_of(lrs_client) / "xapi-attachments").exists()
    assert lrs_client.get(URL, headers=XAPI).json()["statements"] == []


def test_multipart_without_boundary_is_400(lrs_client: TestClient) -> None:
    r = lrs_client.post(URL, content=GOOD, headers={**XAPI, "Content-Type": "multipart/mixed"})
    assert r.status_code == 400
    assert "boundary" in r.json()["error"]


def test_multipart_over_the_size_limit_is_413(lrs_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xapi_api, "MAX_BODY_BYTES", 100)
    assert send(lrs_client, GOOD).status_code == 413


def test_put_with_an_attachment_part(lrs_client: TestClient) -> None:
    sid = str(uuid.uuid4())
    r = send(lrs_client, multipart(json_part(with_attachments(attachment())), part(CONTENT)), method="PUT",
             statementId=sid)
    assert r.status_code == 204, r.text
    assert (home_of(lrs_client) / "xapi-attachments" / SHA).read_bytes() == CONTENT
    assert lrs_client.get(URL, params={"statementId": sid}, headers=XAPI).json()["attachments"][0]["sha2"] == SHA
    missing = send(lrs_client, multipart(json_part(with_attachments(attachment(OTHER_SHA, 12)))), method="PUT",
                   statementId=str(uuid.uuid4()))
    assert missing.status_code == 400


def test_contents_are_stored_before_the_statement(lrs_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(home: Path, parts: Any) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(attachments, "save", disk_full)
    sid = str(uuid.uuid4())
    answer = send(lrs_client, multipart(json_part(with_attachments(attachment(), id=sid)), part(CONTENT)))
    assert answer.status_code == 500 and answer.headers["connection"] == "close"  # not acknowledged
    assert lrs_client.get(URL, params={"statementId": sid}, headers=XAPI).status_code == 404
