"""`manage.py check_declaration`: exit 0 / 1 / 2 for CI, text or JSON, and no writes."""

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from features import demo
from features.choices import Sensitivity, SignalCategory
from features.declaration import DeclarationInvalid
from governance.policy.files import load_declaration_file, parse_declaration_text
from tests.factories import ServiceIdentityFactory, SignalFactory, TeamFactory

EXAMPLE = Path(__file__).resolve().parents[2] / "governance" / "policy" / "examples" / "declaration.yaml"

CRITICAL_YAML = """
explanation: We suggest products like the ones you bought.
purpose: Recommendations on the home page.
requested_tier: 1
consent_basis: contract
retention_days: 30
signals:
  - {signal: purchase_history, origin: collected, justification: Similar products., retention_days: 30}
"""


@pytest.fixture
def demo_catalogue(db):
    """The part of the demo catalogue the example file refers to."""
    SignalFactory(key="locale", sensitivity=Sensitivity.LOW, category=SignalCategory.CONTEXT)
    SignalFactory(key="purchase_history", sensitivity=Sensitivity.MEDIUM, category=SignalCategory.BEHAVIOUR)
    ServiceIdentityFactory(
        name="reco-profile-reader",
        granted_scopes=["profile:read", "orders:read"],
        credential_max_lifetime_days=1,
        secret_location="vault://kv/reco/reader",
    )


def run(*args, **options):
    """(exit status, stdout, stderr) of the command."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("check_declaration", *args, stdout=out, stderr=err, **options)
    except SystemExit as exit:
        return exit.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_example_file_passes(demo_catalogue):
    code, out, _ = run(str(EXAMPLE))
    assert code == 0, out
    assert "0 critical" in out


def test_example_file_passes_against_the_demo_catalogue_and_inventory(db):
    for key, name, category, sensitivity, _ in demo.SIGNALS:
        SignalFactory(key=key, name=name, category=category, sensitivity=sensitivity)
    for identity in demo.IDENTITIES:
        ServiceIdentityFactory(
            name=identity.name,
            kind=identity.kind,
            team=TeamFactory(slug=identity.team) if identity.team else None,
            granted_scopes=list(identity.granted_scopes),
            credential_max_lifetime_days=identity.credential_max_lifetime_days,
            secret_location=identity.secret_location,
            status=identity.status,
        )
    code, out, _ = run(str(EXAMPLE), "--feature", "product-recommendations")
    assert code == 0, out


def test_critical_finding_exits_1_and_is_printed(demo_catalogue, tmp_path):
    path = tmp_path / "reco.yaml"
    path.write_text(CRITICAL_YAML)
    code, out, _ = run(str(path))
    assert code == 1
    assert "CRITICAL" in out and "signal-exceeds-tier" in out and "signals.0.signal" in out
    assert "GDPR Art. 5(1)(c) Data minimisation" in out


def test_malformed_yaml_exits_2_with_where_it_broke(demo_catalogue, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("explanation: [unclosed\npurpose: x\n")
    code, _, err = run(str(path))
    assert code == 2
    assert "Not valid YAML" in err and "line" in err


def test_bad_values_exit_2_listed_by_path(demo_catalogue, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"requested_tier": 9, "signals": [{"signal": "locale", "retention_days": "x"}]}))
    code, _, err = run(str(path))
    assert code == 2
    assert "requested_tier: Choose a tier from 0 to 3." in err
    assert "signals.0.retention_days" in err


def test_one_malformed_file_among_several_exits_2(demo_catalogue, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("- just\n- a list\n")
    code, out, err = run(str(EXAMPLE), str(broken))
    assert code == 2
    assert str(EXAMPLE) in out and str(broken) in err


def test_json_output_parses(demo_catalogue, tmp_path):
    path = tmp_path / "reco.yaml"
    path.write_text(CRITICAL_YAML)
    code, out, _ = run(str(path), str(EXAMPLE), format="json")
    report = json.loads(out)
    assert code == report["exit_code"] == 1
    critical, passing = report["files"]
    assert critical["critical"] is True
    assert {"rule_id", "severity", "path", "message", "references"} <= set(critical["findings"][0])
    assert passing == {"file": str(EXAMPLE), "valid": True, "errors": {}, "critical": False, "findings": []}


def test_stdin_is_read_and_json_is_sniffed(demo_catalogue):
    text = json.dumps(parse_declaration_text(EXAMPLE.read_text()).as_dict())
    code, out, _ = run("-", stdin=io.StringIO(text))
    assert code == 0, out


def test_check_never_writes(demo_catalogue, tmp_path):
    path = tmp_path / "reco.yaml"
    path.write_text(CRITICAL_YAML)
    with CaptureQueriesContext(connection) as queries:
        run(str(path), str(EXAMPLE))
    assert queries.captured_queries
    assert all(q["sql"].lstrip().upper().startswith("SELECT") for q in queries.captured_queries)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DeclarationInvalid) as invalid:
        load_declaration_file(tmp_path / "nope.yaml")
    assert "Cannot read the file" in invalid.value.errors[""][0]


def test_empty_file_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing yet\n")
    with pytest.raises(DeclarationInvalid) as invalid:
        load_declaration_file(path)
    assert invalid.value.errors == {"": ["The file is empty; it should hold one declaration."]}
