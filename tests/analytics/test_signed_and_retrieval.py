"""Signed statements (JWS attachments) are verified; retrieval keeps contextActivities as arrays, returns
statements that target a match through a StatementRef, and format=ids reduces every Activity to its id."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient

from eduops.analytics.signatures import SIGNATURE_USAGE, check_jws
from eduops.errors import UsageError

from .helpers import XAPI, day, statement
from .test_attachments import json_part, multipart, part

URL = "/xapi/statements"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def certificate(key: rsa.RSAPrivateKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lms.example.edu")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def jws(payload: Any, alg: str = "RS256", key: rsa.RSAPrivateKey = KEY, x5c: bool = True) -> bytes:
    header: dict[str, Any] = {"alg": alg}
    if x5c:
        header["x5c"] = [certificate(KEY)]
    signing_input = b64url(json.dumps(header).encode()) + b"." + b64url(json.dumps(payload).encode())
    digest = {"RS256": hashes.SHA256(), "RS384": hashes.SHA384(), "RS512": hashes.SHA512()}.get(alg, hashes.SHA256())
    return signing_input + b"." + b64url(key.sign(signing_input, padding.PKCS1v15(), digest))


def signed(original: dict[str, Any], token: bytes, content_type: str = "application/octet-stream") -> dict[str, Any]:
    return {**original, "attachments": [{"usageType": SIGNATURE_USAGE, "display": {"en-US": "signature"},
                                         "contentType": content_type, "length": len(token),
                                         "sha2": hashlib.sha256(token).hexdigest()}]}


def post_signed(client: TestClient, body: dict[str, Any], token: bytes) -> Any:
    sha = hashlib.sha256(token).hexdigest()
    payload = multipart(json_part(body), part(token, sha2=sha, content_type="application/octet-stream"))
    return client.post(URL, content=payload,
                       headers={**XAPI, "Content-Type": "multipart/mixed; boundary=abcABC0123456789"})


ORIGINAL = statement("a", "completed", day(0), id="9a1e7c52-1b7e-4a51-8f3b-2f0d6c1b5e41")
TAMPERED = {**ORIGINAL, "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"}}
SIGNATURES = [  # label, token, accepted, words of the 400
    ("RS256 with its certificate", jws(ORIGINAL), True, ""),
    ("RS384", jws(ORIGINAL, "RS384"), True, ""),
    ("RS512 without a certificate", jws(ORIGINAL, "RS512", x5c=False), True, ""),
    ("payload without the id", jws({k: v for k, v in ORIGINAL.items() if k != "id"}), True, ""),
    ("HS256", b64url(b'{"alg":"HS256"}') + b"." + b64url(json.dumps(ORIGINAL).encode()) + b".c2ln", False,
     "RS256, RS384 or RS512"),
    ("alg none", b64url(b'{"alg":"none"}') + b"." + b64url(json.dumps(ORIGINAL).encode()) + b".", False,
     "compact serialization"),
    ("two segments", b"abc.def", False, "compact serialization"),
    ("header not JSON", b64url(b"not json") + b".e30.c2ln", False, "header is not JSON"),
    ("payload not base64url", b64url(b'{"alg":"RS256"}') + b".!!!.c2ln", False, "payload"),
    ("payload is another statement", jws(TAMPERED), False, "payload is not this statement"),
    ("signed by another key", jws(ORIGINAL, key=OTHER_KEY), False, "does not verify"),
]


@pytest.mark.parametrize(("label", "token", "accepted", "says"), SIGNATURES, ids=[s[0] for s in SIGNATURES])
def test_signature_rules(label: str, token: bytes, accepted: bool, says: str) -> None:
    if accepted:
        check_jws(token, ORIGINAL, "attachments[0]")
    else:
        with pytest.raises(UsageError, match=says):
            check_jws(token, ORIGINAL, "attachments[0]")


def test_signed_statements_over_http(lrs_client: TestClient) -> None:
    good = post_signed(lrs_client, signed(ORIGINAL, jws(ORIGINAL)), jws(ORIGINAL))
    assert good.status_code == 200, good.text
    other = statement("b", "completed", day(0), id=str(uuid.uuid4()))
    token = jws(TAMPERED)
    bad = post_signed(lrs_client, signed(other, token), token)
    assert bad.status_code == 400 and "payload is not this statement" in bad.json()["error"]
    assert lrs_client.get(URL, params={"statementId": other["id"]}, headers=XAPI).status_code == 404
    wrong_type = post_signed(lrs_client, signed(other, jws(other), "application/jose"), jws(other))
    assert wrong_type.status_code == 400 and "contentType" in wrong_type.json()["error"]
    by_url = {**signed(other, jws(other))}
    by_url["attachments"][0]["fileUrl"] = "https://lms.example.edu/sig"
    as_json = lrs_client.post(URL, json=by_url, headers=XAPI)
    assert as_json.status_code == 400 and "multipart/mixed part" in as_json.json()["error"]


def post(client: TestClient, body: Any) -> list[str]:
    answer = client.post(URL, json=body, headers=XAPI)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def test_a_single_context_activity_is_stored_and_returned_as_an_array(lrs_client: TestClient) -> None:
    parent = {"id": "https://lms.example.edu/course/a"}
    s = statement("a", "launched", day(0), obj="course/a/l1")
    s["context"] = {"contextActivities": {"parent": parent, "grouping": [parent]}}
    s["object"] = {"objectType": "SubStatement", "actor": s["actor"], "verb": s["verb"],
                   "object": {"id": "https://lms.example.edu/x"}, "context": {"contextActivities": {"other": parent}}}
    [sid] = post(lrs_client, s)
    got = lrs_client.get(URL, params={"statementId": sid}, headers=XAPI).json()
    assert got["context"]["contextActivities"] == {"parent": [parent], "grouping": [parent]}
    assert got["object"]["context"]["contextActivities"] == {"other": [parent]}
    listed = lrs_client.get(URL, params={"activity": parent["id"], "related_activities": "true"}, headers=XAPI)
    assert [x["id"] for x in listed.json()["statements"]] == [sid]


def test_filtered_queries_also_return_statements_targeting_a_match(lrs_client: TestClient) -> None:
    completed = statement("a", "completed", day(0), id=str(uuid.uuid4()))
    other = statement("b", "launched", day(0), id=str(uuid.uuid4()))
    post(lrs_client, [completed, other])
    ref = statement("teacher", "http://adlnet.gov/expapi/verbs/commented", day(1), course=None,
                    object={"objectType": "StatementRef", "id": completed["id"].upper()})
    [ref_id] = post(lrs_client, ref)
    voiding = statement("admin", "voided", day(2), course=None,
                        object={"objectType": "StatementRef", "id": other["id"]})
    [voiding_id] = post(lrs_client, voiding)
    by_verb = lrs_client.get(URL, params={"verb": completed["verb"]["id"]}, headers=XAPI).json()["statements"]
    assert {x["id"] for x in by_verb} == {completed["id"], ref_id}
    by_voided_verb = lrs_client.get(URL, params={"verb": other["verb"]["id"]}, headers=XAPI).json()["statements"]
    assert [x["id"] for x in by_voided_verb] == [voiding_id]  # the voided statement itself stays out
    agent = json.dumps(completed["actor"])
    by_agent = lrs_client.get(URL, params={"agent": agent}, headers=XAPI).json()["statements"]
    assert {x["id"] for x in by_agent} == {completed["id"], ref_id}
    later = lrs_client.get(URL, params={"verb": completed["verb"]["id"], "since": "2000-01-01T00:00:00Z",
                                        "limit": "1", "ascending": "true"}, headers=XAPI).json()["statements"]
    assert [x["id"] for x in later] == [completed["id"]]  # limit and order apply to what is returned
    everything = lrs_client.get(URL, headers=XAPI).json()["statements"]
    assert {x["id"] for x in everything} == {completed["id"], ref_id, voiding_id}


def test_format_ids_reduces_every_activity_and_agent_to_its_identifier(lrs_client: TestClient) -> None:
    named = {"objectType": "Agent", "name": "Li", "mbox": "mailto:li@example.edu"}
    activity = {"objectType": "Activity", "id": "https://lms.example.edu/q1",
                "definition": {"name": {"en": "Quiz"}, "type": "http://adlnet.gov/expapi/activities/assessment"}}
    s = {"actor": named, "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted", "display": {"en": "attempted"}},
         "object": {"objectType": "SubStatement", "actor": named, "verb": {"id": "http://x.org/v",
                                                                           "display": {"en": "v"}},
                    "object": activity, "context": {"contextActivities": {"parent": [activity]}}},
         "context": {"instructor": named, "contextActivities": {"grouping": [activity]}}}
    [sid] = post(lrs_client, s)
    got = lrs_client.get(URL, params={"statementId": sid, "format": "ids"}, headers=XAPI).json()
    reduced = {"objectType": "Activity", "id": activity["id"]}
    ifi = {"objectType": "Agent", "mbox": "mailto:li@example.edu"}
    assert got["actor"] == ifi and got["verb"] == {"id": s["verb"]["id"]}
    assert got["object"]["object"] == reduced
    assert got["object"]["actor"] == ifi and got["object"]["verb"] == {"id": "http://x.org/v"}
    assert got["object"]["context"]["contextActivities"] == {"parent": [reduced]}
    assert got["context"]["contextActivities"] == {"grouping": [reduced]}
    assert got["context"]["instructor"] == ifi
