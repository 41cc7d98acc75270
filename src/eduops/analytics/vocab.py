"""The xAPI vocabulary eduops reads: verbs, activity types and the extensions it extracts."""

from __future__ import annotations

ADL = "http://adlnet.gov/expapi/verbs/"
VERBS = {
    "registered": ADL + "registered",
    "launched": ADL + "launched",
    "initialized": ADL + "initialized",
    "experienced": ADL + "experienced",
    "attempted": ADL + "attempted",
    "answered": ADL + "answered",
    "completed": ADL + "completed",
    "passed": ADL + "passed",
    "failed": ADL + "failed",
    "terminated": ADL + "terminated",
    "attended": ADL + "attended",
    "voided": ADL + "voided",
    "unregistered": "http://id.tincanapi.com/verb/unregistered",
    "played": "https://w3id.org/xapi/video/verbs/played",
    "paused": "https://w3id.org/xapi/video/verbs/paused",
    "seeked": "https://w3id.org/xapi/video/verbs/seeked",
}
COURSE_TYPE = "http://adlnet.gov/expapi/activities/course"
EXT = "https://eduops.dev/xapi/extensions/"
REGION_EXT = EXT + "region"
DEVICE_EXT = EXT + "device"
TEACHER_EXT = EXT + "teacher"
VIDEO_LENGTH_EXT = "https://w3id.org/xapi/video/extensions/length"
VIDEO_SEGMENTS_EXT = "https://w3id.org/xapi/video/extensions/played-segments"
VIDEO_PROGRESS_EXT = "https://w3id.org/xapi/video/extensions/progress"


def verb_iri(name_or_iri: str) -> str:
    """A verb IRI from a short name (``completed``) or the IRI itself."""
    if ":" in name_or_iri:
        return name_or_iri
    try:
        return VERBS[name_or_iri]
    except KeyError:
        from eduops.errors import UsageError

        raise UsageError(f"unknown verb {name_or_iri!r}; use an IRI or one of {', '.join(sorted(VERBS))}") from None
