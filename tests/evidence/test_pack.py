"""What an evidence pack contains and how it is built (scoped, streaming, with progress)."""

import csv
import datetime
import hashlib
import io
import json

import pypdfium2
import pytest

from governance.evidence.pack import PackScope, PackScopeInvalid
from governance.evidence.records import feature_records
from tests.evidence.test_pack_support import (
    DRAFT_ONLY_TEXT,
    DRAFT_V3_TEXT,
    NOW,
    build,
    clock,
    registry_with_history,
    use_temporary_signing_key,
)
from tests.factories import TeamFactory, UserFactory, catalogue_for, complete_declaration

EXPECTED_FILES = [
    "registry.json",
    "features.csv",
    "versions.csv",
    "declared_signals.csv",
    "declared_identities.csv",
    "declared_destinations.csv",
    "decisions.csv",
    "findings.csv",
    "observed_edges.csv",
    "report.html",
    "report.pdf",
    "oscal-assessment-results.json",
    "SHA256SUMS",
    "manifest.json",
    "manifest.json.sig",
]


@pytest.fixture(autouse=True)
def signing_key(settings, tmp_path):
    use_temporary_signing_key(settings, tmp_path)


@pytest.fixture
def history(owner, reviewer, team):
    return registry_with_history(owner, reviewer, team)


def file_features(owner, team, keys):
    """Features with a submitted first version each (the owner's team)."""
    from features.services import feature_create, registration_submit

    declaration = complete_declaration()
    catalogue_for(declaration)
    with clock(NOW - datetime.timedelta(days=1)):
        for key in keys:
            feature = feature_create(actor=owner, key=key, name=key.title(), team=team, declaration=declaration)
            registration_submit(actor=owner, feature=feature)


def csv_rows(pack, name):
    return list(csv.DictReader(io.StringIO(pack.read(name).decode("utf-8"))))


def test_a_pack_holds_every_file_of_the_format(history):
    assert build().names() == EXPECTED_FILES


def test_the_manifest_lists_every_other_file_with_its_hash_and_size(history):
    pack = build()
    manifest = pack.json("manifest.json")

    listed = {item["name"]: item for item in manifest["files"]}
    assert list(listed) == EXPECTED_FILES[:-2]
    for name, item in listed.items():
        content = pack.read(name)
        assert (item["sha256"], item["size"]) == (hashlib.sha256(content).hexdigest(), len(content))


def test_the_manifest_states_scope_times_audit_head_and_signing_key(history):
    from governance.audit.chain import head
    from governance.evidence import signing

    manifest = build(PackScope("team", "recommendations")).json("manifest.json")

    assert manifest["scope"] == {"kind": "team", "key": "recommendations", "label": "team recommendations"}
    assert manifest["as_of"] is None
    assert manifest["generated_at"] == NOW.isoformat()
    assert manifest["audit_chain_head"] == dict(zip(("sequence", "hash"), head(), strict=True))
    fingerprint = signing.fingerprint(signing.load_public_key(signing.public_key_pem()))
    assert manifest["signing_key"] == {"algorithm": "Ed25519", "fingerprint_sha256": fingerprint}


def test_sha256sums_covers_every_data_file_in_sha256sum_format(history):
    pack = build()
    manifest = pack.json("manifest.json")

    lines = pack.read("SHA256SUMS").decode().splitlines()

    assert lines == [f"{item['sha256']}  {item['name']}" for item in manifest["files"][:-1]]


def test_the_summary_returned_matches_the_pack(history):
    pack = build()

    assert pack.summary.feature_count == 1
    assert set(pack.summary.files) == set(EXPECTED_FILES)
    assert pack.summary.manifest == pack.json("manifest.json")


def test_drafts_never_appear_in_a_pack(history):
    pack = build()

    assert [f["key"] for f in pack.json()["features"]] == ["reco-locale"]
    assert [v["version"] for v in pack.feature("reco-locale")["versions"]] == [1, 2]
    for name in EXPECTED_FILES[:-1]:
        text = pack.read(name).decode("utf-8", errors="replace")
        assert DRAFT_V3_TEXT not in text, name
        assert DRAFT_ONLY_TEXT not in text, name
        assert "reco-fridge" not in text, name


def test_each_csv_table_has_a_row_per_entity_of_registry_json(history):
    pack = build()
    feature = pack.feature("reco-locale")
    versions = feature["versions"]

    assert [row["key"] for row in csv_rows(pack, "features.csv")] == ["reco-locale"]
    assert [(row["version"], row["status"]) for row in csv_rows(pack, "versions.csv")] == [
        ("1", "superseded"),
        ("2", "approved"),
    ]
    assert len(csv_rows(pack, "declared_signals.csv")) == sum(len(v["declaration"]["signals"]) for v in versions)
    assert len(csv_rows(pack, "declared_identities.csv")) == 2
    assert [row["signals"] for row in csv_rows(pack, "declared_destinations.csv")] == ["locale", "language locale"]
    assert [row["outcome"] for row in csv_rows(pack, "decisions.csv")] == ["approve", "approve"]
    assert [(row["rule_id"], row["status"]) for row in csv_rows(pack, "findings.csv")] == [
        ("undeclared-signal", "resolved")
    ]
    assert sorted(row["signal"] for row in csv_rows(pack, "observed_edges.csv")) == ["language", "locale"]


def test_a_csv_cell_a_spreadsheet_would_run_as_a_formula_is_defused(owner, team):
    from features.services import feature_create, registration_submit

    declaration = complete_declaration(purpose="=HYPERLINK(1)")
    catalogue_for(declaration)
    with clock(NOW - datetime.timedelta(days=1)):
        feature = feature_create(actor=owner, key="reco-x", name="X", team=team, declaration=declaration)
        registration_submit(actor=owner, feature=feature)

    pack = build()

    assert csv_rows(pack, "versions.csv")[0]["purpose"] == "'=HYPERLINK(1)"
    assert pack.feature("reco-x")["versions"][0]["declaration"]["purpose"] == "=HYPERLINK(1)"


def test_the_html_report_is_self_contained(history):
    html = build().read("report.html").decode()

    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "src=" not in html.lower()
    assert "url(" not in html.lower()
    assert "<svg" in html


def test_the_html_report_explains_each_feature_with_its_approval_findings_and_matrix(owner, reviewer, team):
    from governance.evidence.asof import end_of_day

    registry_with_history(owner, reviewer, team)

    html = build(as_of=end_of_day(datetime.date(2026, 1, 31))).read("report.html").decode()

    section = html[html.index('id="feature-reco-locale"') :]
    assert "We order products by the language you browse in." in section
    assert "reviewer approved at Tier 1 · basic" in section
    assert "Locale only." in section  # the approval's conditions
    assert "2027-01-10" in section  # its expiry
    assert "undeclared-signal" in section
    assert "GDPR Art. 5(1)(c) Data minimisation" in section
    assert "observed, NOT declared" in section  # language reached reco-ranker undeclared


def test_the_pdf_report_has_a_summary_page_and_a_section_per_feature(history):
    pdf = pypdfium2.PdfDocument(build().read("report.pdf"))

    pages = [pdf[index].get_textpage().get_text_range() for index in range(len(pdf))]

    assert "Features by status" in pages[0]
    text = " ".join(pages)
    assert "Locale ranking (reco-locale)" in text
    assert "We order products by the language you browse in." in text


def test_a_team_pack_holds_only_that_teams_features(owner, team):
    other = TeamFactory(slug="payments", name="Payments")
    payments_owner = UserFactory(username="payments-owner", teams=[other])
    file_features(owner, team, ["reco-a", "reco-b"])
    file_features(payments_owner, other, ["pay-a"])

    pack = build(PackScope("team", "payments"))

    assert [f["key"] for f in pack.json()["features"]] == ["pay-a"]
    assert pack.json()["scope"]["label"] == "team payments"


def test_a_feature_pack_holds_only_that_feature(owner, team):
    file_features(owner, team, ["reco-a", "reco-b"])

    pack = build(PackScope("feature", "reco-b"))

    assert [f["key"] for f in pack.json()["features"]] == ["reco-b"]


def test_the_registry_pack_lists_observed_keys_that_are_not_registered(owner, team):
    from tests.evidence.test_pack_support import observe

    file_features(owner, team, ["reco-a"])
    with clock(NOW - datetime.timedelta(hours=2)):
        observe("shadow-thing", "locale", NOW - datetime.timedelta(hours=2))

    registry = build().json()

    assert [u["feature_key"] for u in registry["unregistered"]] == ["shadow-thing"]
    assert registry["unregistered"][0]["observed_edges"][0]["signal"] == "locale"


@pytest.mark.parametrize(
    "scope",
    [PackScope("team", "nobody"), PackScope("feature", "no-such-feature"), PackScope("team"), PackScope("galaxy")],
)
def test_a_scope_naming_nothing_is_refused(db, scope):
    with pytest.raises(PackScopeInvalid):
        build(scope)


def test_an_as_of_moment_after_now_is_refused(db):
    with pytest.raises(ValueError, match="past"):
        build(as_of=NOW + datetime.timedelta(seconds=1))


def test_progress_climbs_to_its_total_and_never_goes_back(owner, team):
    file_features(owner, team, [f"reco-{n}" for n in range(3)])
    calls = []

    build(progress=lambda done, total: calls.append((done, total)))

    assert calls[-1] == (6, 6)  # each feature counts when read and when typeset
    dones = [done for done, _ in calls]
    assert dones == sorted(dones)
    assert all(done <= total for done, total in calls)


def test_reading_the_registry_costs_the_same_queries_for_one_feature_or_many(owner, team):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    file_features(owner, team, ["reco-0"])
    with CaptureQueriesContext(connection) as one:
        list(feature_records(PackScope("registry"), None))
    file_features(owner, team, [f"reco-{n}" for n in range(1, 12)])

    with CaptureQueriesContext(connection) as twelve:
        records = list(feature_records(PackScope("registry"), None))

    assert len(records) == 12
    assert len(twelve) == len(one)


def test_registry_json_holds_one_feature_object_per_line(history):
    """Written a feature at a time: each feature is one line, so the file streams in and out."""
    lines = build().read("registry.json").decode().splitlines()

    features = [json.loads(line.rstrip(",")) for line in lines if line.startswith('{"key"')]

    assert [f["key"] for f in features] == ["reco-locale"]


def test_each_version_carries_its_declaration_in_the_declaration_file_shape(history):
    from features.declaration import declaration_of
    from features.models import Registration

    feature = build().feature("reco-locale")

    for version in feature["versions"]:
        stored = Registration.objects.get(feature__key="reco-locale", version=version["version"])
        assert version["declaration"] == declaration_of(stored).as_dict()


class WriteOnly(io.RawIOBase):
    """A destination that can only be written to, like a socket or a streamed HTTP response."""

    def __init__(self):
        self.received = bytearray()

    def writable(self):
        return True

    def write(self, data):
        self.received += data
        return len(data)


def test_a_pack_streams_into_a_destination_that_cannot_seek(history):
    from governance.evidence.pack import build_pack
    from governance.evidence.signing import public_key_pem
    from governance.evidence.verify import verify_pack

    destination = WriteOnly()
    with clock(NOW):
        build_pack(scope=PackScope("registry"), as_of=None, destination=destination, now=NOW)

    assert verify_pack(io.BytesIO(bytes(destination.received)), public_key_pem=public_key_pem()).ok
