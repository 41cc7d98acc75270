"""Signed statements (xAPI 1.0.3, Data 2.6): the signature is an attachment whose usageType is
http://adlnet.gov/expapi/attachments/signature and whose content, sent as a multipart/mixed part, is a
JWS in compact serialization over the statement as it was before the signature was attached.

``check_signed`` refuses (400) a signature that is malformed, uses an algorithm other than RS256,
RS384 or RS512, whose payload is not the statement, or that an ``x5c`` certificate in its header does
not verify. Uses ``cryptography`` (already a dependency) for the RSA check.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import load_der_x509_certificate

from eduops.errors import UsageError

SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"
SIGNATURE_TYPE = "application/octet-stream"
ALGORITHMS: dict[str, type[hashes.HashAlgorithm]] = {"RS256": hashes.SHA256, "RS384": hashes.SHA384,
                                                     "RS512": hashes.SHA512}
# What may differ between the signed payload and the statement sent: what the LRS sets, and the
# attachments (the signature itself is attached after signing).
NOT_SIGNED = ("authority", "stored", "version", "attachments")


def _b64url(segment: bytes, what: str, field: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise UsageError(f"{field}: the JWS {what} is not base64url") from None


def _json(segment: bytes, what: str, field: str) -> dict[str, Any]:
    try:
        value = orjson.loads(_b64url(segment, what, field))
    except orjson.JSONDecodeError:
        raise UsageError(f"{field}: the JWS {what} is not JSON") from None
    if not isinstance(value, dict):
        raise UsageError(f"{field}: the JWS {what} must be a JSON object")
    return value


def signed_part(statement: dict[str, Any]) -> dict[str, Any]:
    """The properties a signature covers, in a comparable form."""
    kept = {k: v for k, v in statement.items() if k not in NOT_SIGNED}
    if "id" in kept:
        kept["id"] = str(kept["id"]).lower()
    return kept


def check_jws(token: bytes, statement: dict[str, Any], field: str) -> None:
    """One signature against its statement; raises UsageError naming what is wrong."""
    segments = token.strip().split(b".")
    if len(segments) != 3 or not all(segments):
        raise UsageError(f"{field}: the signature is not a JWS in compact serialization (header.payload.signature)")
    header = _json(segments[0], "header", field)
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise UsageError(f"{field}: the JWS algorithm must be RS256, RS384 or RS512, got {alg!r}")
    payload = _json(segments[1], "payload", field)
    signature = _b64url(segments[2], "signature", field)
    expected = signed_part(statement)
    signed = signed_part(payload)
    if "id" not in payload:
        expected.pop("id", None)
    if json.dumps(signed, sort_keys=True) != json.dumps(expected, sort_keys=True):
        raise UsageError(f"{field}: the JWS payload is not this statement (it must be the statement as signed, "
                         "before the signature attachment was added)")
    if "x5c" in header:
        _verify_with_certificate(header["x5c"], segments[0] + b"." + segments[1], signature,
                                 ALGORITHMS[str(alg)](), field)


def _verify_with_certificate(chain: Any, signing_input: bytes, signature: bytes, digest: hashes.HashAlgorithm,
                             field: str) -> None:
    if not isinstance(chain, list) or not chain or not isinstance(chain[0], str):
        raise UsageError(f"{field}: the JWS header x5c must be an array of base64 DER certificates")
    try:
        certificate = load_der_x509_certificate(base64.b64decode(chain[0], validate=True))
    except (binascii.Error, ValueError):
        raise UsageError(f"{field}: the JWS header x5c[0] is not a base64 DER certificate") from None
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise UsageError(f"{field}: the x5c certificate's key is not RSA, as RS256/384/512 need")
    try:
        key.verify(signature, signing_input, padding.PKCS1v15(), digest)
    except InvalidSignature:
        raise UsageError(f"{field}: the JWS signature does not verify with the x5c certificate's key") from None


def check_signed(statements: list[dict[str, Any]], parts: Mapping[str, tuple[str, bytes]]) -> None:
    """Every signature attachment of every (validated) statement, with its content from ``parts``."""
    for i, statement in enumerate(statements):
        label = f"statements[{i}]." if len(statements) > 1 else ""
        for n, att in enumerate(statement.get("attachments") or ()):
            if att.get("usageType") != SIGNATURE_USAGE:
                continue
            field = f"{label}attachments[{n}]"
            if str(att.get("contentType", "")).split(";")[0].strip().lower() != SIGNATURE_TYPE:
                raise UsageError(f"{field}.contentType: a signature's content type must be {SIGNATURE_TYPE}")
            part = parts.get(str(att["sha2"]).lower())
            if part is None:
                raise UsageError(f"{field}: a signature must come as a multipart/mixed part, not a fileUrl")
            check_jws(part[1], statement, field)
