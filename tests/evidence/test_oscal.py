"""The pack's OSCAL assessment results validate against the OSCAL models (compliance-trestle) and carry
the rule ids, statuses and framework references of the findings."""

import datetime
import io
import json

import pytest
from trestle.oscal.assessment_results import AssessmentResults

from governance.evidence.oscal import OSCAL_VERSION, write_oscal
from tests.evidence.test_pack_support import EARLIER, build, registry_with_history, use_temporary_signing_key


@pytest.fixture(autouse=True)
def signing_key(settings, tmp_path):
    use_temporary_signing_key(settings, tmp_path)


@pytest.fixture
def history(owner, reviewer, team):
    return registry_with_history(owner, reviewer, team)


def assessment(pack) -> dict:
    return pack.json("oscal-assessment-results.json")["assessment-results"]


def props(item) -> dict[str, list[str]]:
    found = {}
    for prop in item.get("props", []):
        found.setdefault(prop["name"], []).append(prop["value"])
    return found


def test_the_oscal_document_validates_with_compliance_trestle(history):
    document = assessment(build())

    model = AssessmentResults.model_validate(document)

    assert model.metadata.oscal_version.root.root == OSCAL_VERSION
    assert len(model.results) == 1


def test_an_as_of_oscal_document_validates_too(history):
    AssessmentResults.model_validate(assessment(build(as_of=EARLIER)))


def test_an_empty_registry_gives_a_valid_document_without_findings(db):
    document = assessment(build())

    model = AssessmentResults.model_validate(document)

    assert model.results[0].findings is None
    assert model.results[0].observations is None


def test_each_finding_targets_its_rule_and_carries_its_references(history):
    [finding] = assessment(build(as_of=EARLIER))["results"][0]["findings"]

    assert finding["target"]["target-id"] == "undeclared-signal"
    assert finding["target"]["status"]["state"] == "not-satisfied"
    assert props(finding)["rule-id"] == ["undeclared-signal"]
    assert props(finding)["finding-status"] == ["open"]
    assert "GDPR Art. 5(1)(c) Data minimisation" in props(finding)["framework-reference"]
    assert "GDPR Art. 5(1)(c) Data minimisation" in finding["remarks"]


def test_a_resolved_finding_is_satisfied(history):
    [finding] = assessment(build())["results"][0]["findings"]

    assert finding["target"]["status"] == {"state": "satisfied", "reason": "pass"}


def test_each_finding_points_at_an_observation_of_it(history):
    result = assessment(build())["results"][0]
    observations = {item["uuid"]: item for item in result["observations"]}

    for finding in result["findings"]:
        [related] = finding["related-observations"]
        assert props(observations[related["observation-uuid"]])["rule-id"] == [props(finding)["rule-id"][0]]


def test_the_same_finding_keeps_its_uuid_across_packs(history):
    first = assessment(build())["results"][0]["findings"][0]["uuid"]
    again = assessment(build())["results"][0]["findings"][0]["uuid"]

    assert first == again


def test_findings_about_the_same_subject_get_distinct_uuids():
    finding = {
        "rule_id": "undeclared-signal",
        "source": "drift",
        "severity": "warning",
        "status": "open",
        "message": "Signal x is used but not declared.",
        "path": "signal x",
        "references": [],
        "version": None,
        "created_at": "2026-01-10T09:00:00+00:00",
        "resolved_at": None,
        "accepted_until": None,
        "accepted_reason": "",
    }
    record = {"feature_key": "shadow", "findings": [], "drift_findings": [finding, finding], "observed_edges": []}
    now = datetime.datetime(2026, 3, 2, tzinfo=datetime.UTC).isoformat()
    meta = {
        "scope": {"kind": "registry", "key": None, "label": "the whole registry"},
        "as_of": None,
        "generated_at": now,
        "audit_chain_head": {"sequence": 1, "hash": "0" * 64},
        "audit_chain_as_of": None,
        "signing_key_fingerprint": "0" * 64,
    }
    out = io.StringIO()

    write_oscal(
        out.write, meta=meta, summary={"features": 0, "findings": 2}, features=list, unregistered=lambda: [record]
    )

    result = json.loads(out.getvalue())["assessment-results"]["results"][0]
    assert len({f["uuid"] for f in result["findings"]}) == 2
    assert len({o["uuid"] for o in result["observations"]}) == 2
    AssessmentResults.model_validate(json.loads(out.getvalue())["assessment-results"])
