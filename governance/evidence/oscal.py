"""oscal-assessment-results.json: the pack as an OSCAL assessment-results document.

One result covers the scope. Each feature gives an observation of its registration (the version in force,
its tier and status); each finding gives an observation of what was found and a finding that targets the
rule (`objective-id` = the rule id) with `not-satisfied` while it is open or accepted and `satisfied` once
resolved. Rule ids, severities, statuses and framework references travel as props in our namespace, and
the references again in the finding's remarks.

The document is written a feature at a time (observations, then findings: two passes over the records).
UUIDs: the document and the result get fresh random ones (uuid4) per export; observations and findings
get name-based ones (uuid5) from what they are about, so the same finding keeps its UUID across packs as
OSCAL recommends.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator

from features.models import FindingSource, FindingStatus

OSCAL_VERSION = "1.1.2"
NAMESPACE = "https://personalisation-governance.invalid/ns/oscal"  # our props' namespace (a name, not a site)
UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, NAMESPACE)
_SPACE = re.compile(r"\s+")
_NOT_TOKEN = re.compile(r"[^A-Za-z0-9._-]")


def _one_line(text, fallback: str = "—") -> str:
    """OSCAL titles and prop values are one line without leading or trailing space."""
    value = _SPACE.sub(" ", str(text if text is not None else "")).strip()
    return value or fallback


def _token(text: str) -> str:
    """An OSCAL token (what a target-id must be): letters, digits, . _ -, not starting with a digit."""
    token = _NOT_TOKEN.sub("-", text) or "_"
    return token if token[0].isalpha() or token[0] == "_" else f"_{token}"


def _prop(name: str, value) -> dict:
    return {"name": name, "ns": NAMESPACE, "value": _one_line(value)}


def _subject_uuid(*parts) -> str:
    return str(uuid.uuid5(UUID_NAMESPACE, "|".join(str(part) for part in parts)))


def _finding_uuids(record: dict) -> Iterator[tuple[dict, str, str]]:
    """Each finding of a record with its observation's and its own name-based UUID. Two findings about
    the same subject (only possible within one record) get distinct ones: the nth repeat is numbered."""
    seen: dict[tuple, int] = {}
    for finding in _findings_of(record):
        subject = _finding_subject(record, finding)
        repeat = seen.get(subject, 0)
        seen[subject] = repeat + 1
        subject = (*subject, repeat) if repeat else subject
        yield finding, _subject_uuid("observation", *subject), _subject_uuid("finding", *subject)


def _key(record: dict) -> str:
    return record.get("key") or record["feature_key"]


def _findings_of(record: dict) -> Iterator[dict]:
    yield from record["findings"]
    yield from record["drift_findings"]


def _finding_subject(record: dict, finding: dict) -> tuple:
    return (
        _key(record),
        finding["source"],
        finding["rule_id"],
        finding["path"],
        finding["version"],
        finding["created_at"],
    )


def _feature_observation(record: dict, collected: str) -> dict:
    in_force = next((v for v in record["versions"] if v["in_force"]), None)
    latest = record["versions"][-1] if record["versions"] else None
    described = in_force or latest
    explanation = described["declaration"]["explanation"] if described else ""
    props = [
        _prop("feature", record["key"]),
        _prop("team", record["team"]["slug"]),
        _prop("feature-status", record["status"]),
        _prop("versions-filed", len(record["versions"])),
    ]
    if in_force:
        props += [_prop("version-in-force", in_force["version"]), _prop("approved-tier", in_force["approved_tier"])]
        if in_force["review_due_on"]:
            props.append(_prop("review-due-on", in_force["review_due_on"]))
    if latest:
        props.append(_prop("requested-tier", latest["declaration"]["requested_tier"]))
    return {
        "uuid": _subject_uuid("registration", record["key"], described["version"] if described else 0),
        "title": _one_line(f"Registration of {record['name']} ({record['key']})"),
        "description": explanation or f"{record['key']} has no explanation on file.",
        "props": props,
        "methods": ["EXAMINE"],
        "types": ["historic"],
        "collected": collected,
        "remarks": f"Status {record['status']}; {len(record['observed_edges'])} observed data path(s).",
    }


def _finding_observation(record: dict, finding: dict, observation_uuid: str) -> dict:
    return {
        "uuid": observation_uuid,
        "title": _one_line(f"{finding['rule_id']} on {_key(record)}"),
        "description": finding["message"] or finding["rule_id"],
        "props": [
            _prop("feature", _key(record)),
            _prop("rule-id", finding["rule_id"]),
            _prop("source", finding["source"]),
            *([_prop("path", finding["path"])] if finding["path"] else []),
        ],
        # Drift comes from watching what runs; policy and review findings from reading the declaration.
        "methods": ["TEST" if finding["source"] == FindingSource.DRIFT else "EXAMINE"],
        "types": ["finding"],
        "collected": finding["created_at"],
    }


def _finding(record: dict, finding: dict, observation_uuid: str, finding_uuid: str) -> dict:
    live = finding["status"] != FindingStatus.RESOLVED
    remarks = [f"Framework references: {'; '.join(finding['references']) or 'none'}."]
    if finding["status"] == FindingStatus.ACCEPTED:
        remarks.append(f"Risk accepted until {finding['accepted_until']}: {finding['accepted_reason']}")
    if finding["resolved_at"]:
        remarks.append(f"Resolved at {finding['resolved_at']}.")
    props = [
        _prop("feature", _key(record)),
        _prop("rule-id", finding["rule_id"]),
        _prop("severity", finding["severity"]),
        _prop("finding-status", finding["status"]),
        _prop("source", finding["source"]),
    ]
    if finding["version"] is not None:
        props.append(_prop("version", finding["version"]))
    props += [_prop("framework-reference", reference) for reference in finding["references"] if reference.strip()]
    return {
        "uuid": finding_uuid,
        "title": _one_line(f"{finding['rule_id']} on {_key(record)}"),
        "description": finding["message"] or finding["rule_id"],
        "props": props,
        "target": {
            "type": "objective-id",
            "target-id": _token(finding["rule_id"]),
            "status": {"state": "not-satisfied" if live else "satisfied", "reason": "fail" if live else "pass"},
        },
        "related-observations": [{"observation-uuid": observation_uuid}],
        "remarks": " ".join(remarks),
    }


def write_oscal(
    write: Callable[[str], None],
    *,
    meta: dict,
    summary: dict,
    features: Callable[[], Iterable[dict]],
    unregistered: Callable[[], Iterable[dict]],
) -> None:
    """Write the document through `write`; `features` and `unregistered` give a fresh pass each call."""
    generated = meta["generated_at"]
    as_of = meta["as_of"]
    head = meta["audit_chain_head"]
    label = meta["scope"]["label"]
    document_props = [
        _prop("scope", meta["scope"]["kind"]),
        *([_prop("scope-key", meta["scope"]["key"])] if meta["scope"]["key"] else []),
        _prop("audit-chain-head-sequence", head["sequence"]),
        _prop("audit-chain-head-hash", head["hash"]),
        _prop("signing-key-fingerprint", meta["signing_key_fingerprint"]),
    ]
    if as_of:
        document_props.append(_prop("as-of", as_of))
    metadata = {
        "title": _one_line(f"Personalisation governance evidence: {label}"),
        "last-modified": generated,
        "version": as_of or generated,
        "oscal-version": OSCAL_VERSION,
        "props": document_props,
    }
    opening = {
        "uuid": str(uuid.uuid4()),
        "metadata": metadata,
        "import-ap": {
            "href": "#",
            "remarks": "No separate assessment plan: the plan is the registry's policy rules and drift checks, "
            "each identified by its rule id (the objective-id of every finding).",
        },
    }
    result = {
        "uuid": str(uuid.uuid4()),
        "title": _one_line(f"Registry assessment: {label}"),
        "description": (
            f"The personalisation registry ({label}) as of {as_of or generated}: "
            f"{summary['features']} feature(s), {summary['findings']} finding(s)."
        ),
        "start": as_of or generated,
        "end": generated,
        "props": [_prop("feature-count", summary["features"]), _prop("finding-count", summary["findings"])],
        "reviewed-controls": {
            "description": "Every policy rule and drift check of the registry.",
            "control-selections": [{"include-all": {}}],
        },
    }
    # Open the document and its one result, leaving the result open for the two streamed arrays.
    write('{"assessment-results": ' + json.dumps(opening, ensure_ascii=False)[:-1] + ', "results": [')
    write(json.dumps(result, ensure_ascii=False)[:-1])
    collected = as_of or generated

    has_observations = summary["features"] > 0 or summary["findings"] > 0
    if has_observations:
        write(', "observations": [\n')
        first = True
        for source, registered in ((features, True), (unregistered, False)):
            for record in source():
                items = [_feature_observation(record, collected)] if registered else []
                for finding, observation_uuid, _ in _finding_uuids(record):
                    items.append(_finding_observation(record, finding, observation_uuid))
                for item in items:
                    write(("" if first else ",\n") + json.dumps(item, ensure_ascii=False))
                    first = False
        write("\n]")
    if summary["findings"] > 0:
        write(', "findings": [\n')
        first = True
        for source in (features, unregistered):
            for record in source():
                for finding, observation_uuid, finding_uuid in _finding_uuids(record):
                    item = _finding(record, finding, observation_uuid, finding_uuid)
                    write(("" if first else ",\n") + json.dumps(item, ensure_ascii=False))
                    first = False
        write("\n]")
    write("}]}}\n")
