"""POST /api/v1/check: the policy engine on a declaration file, for CI, saving nothing."""

import contextlib
import json
import shutil
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from features.models import Feature, Finding, Registration
from features.services import feature_create, registration_submit
from governance.accounts.models import TokenScope
from governance.audit.models import AuditEvent
from tests.factories import complete_declaration

pytestmark = pytest.mark.django_db

CHECK = "/api/v1/check"
EXAMPLE = Path(__file__).resolve().parents[2] / "governance" / "policy" / "examples" / "declaration.yaml"
CRITICAL = "requested_tier: 3\nexplanation: We tailor offers to your health.\n"  # no consent basis at tier 3


def cli_report(path: Path, *options: str) -> dict:
    out = StringIO()
    with contextlib.suppress(SystemExit):  # exit status 1 on a critical finding; the report is written first
        call_command("check_declaration", str(path), "--format", "json", *options, stdout=out)
    return json.loads(out.getvalue())["files"][0]


@pytest.mark.parametrize("role", ["owner", "other_owner", "reviewer", "auditor", "administrator"])
def test_anyone_signed_in_checks_the_example_file_as_the_command_does(
    request, api_client, role, registry_catalogue, tmp_path
):
    api_client.force_login(request.getfixturevalue(role))
    response = api_client.post(CHECK, EXAMPLE.read_bytes(), content_type="application/yaml")
    assert response.status_code == 200, response.json()
    report = cli_report(EXAMPLE)
    assert response.json() == {"critical": report["critical"], "findings": report["findings"]}


def test_a_critical_finding_says_critical_and_nothing_is_saved(api_client, owner, registry_catalogue, tmp_path):
    api_client.force_login(owner)
    before = AuditEvent.objects.count()
    response = api_client.post(CHECK, CRITICAL, content_type="text/yaml")
    body = response.json()
    assert response.status_code == 200 and body["critical"] is True
    assert {finding["rule_id"] for finding in body["findings"]} >= {"consent-basis-insufficient", "necessity-missing"}
    assert all(set(finding) == {"rule_id", "severity", "path", "message", "references"} for finding in body["findings"])
    assert not Feature.objects.exists() and not Registration.objects.exists() and not Finding.objects.exists()
    assert AuditEvent.objects.count() == before


def test_a_json_body_is_checked_too(api_client, owner, registry_catalogue):
    api_client.force_login(owner)
    response = api_client.post(CHECK, complete_declaration().as_dict(), format="json")
    assert response.json() == {"critical": False, "findings": []}


def test_any_live_token_may_check(api_client, owner, team, token_header, registry_catalogue):
    headers = token_header(owner, scopes=[TokenScope.OBSERVATIONS_WRITE], teams=[team])
    assert api_client.post(CHECK, CRITICAL, content_type="application/yaml", headers=headers).status_code == 200
    assert api_client.post(CHECK, CRITICAL, content_type="application/yaml").status_code == 401


def test_a_malformed_document_is_a_400_with_errors(api_client, owner):
    api_client.force_login(owner)
    response = api_client.post(CHECK, "explanation: [unclosed\n", content_type="application/yaml")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["errors"][0]["message"].startswith("Not valid YAML")
    assert "critical" not in body
    empty = api_client.post(CHECK, b"", content_type="application/json")
    assert empty.status_code == 400


def test_the_feature_parameter_keeps_its_own_filed_versions_from_counting_as_reuse(
    api_client, owner, team, registry_catalogue, tmp_path
):
    filed = feature_create(actor=owner, key="reco-a", name="A", team=team, declaration=complete_declaration())
    registration_submit(actor=owner, feature=filed)
    api_client.force_login(owner)
    body = complete_declaration(purpose="Something unrelated to ordering by language.").as_dict()
    as_new = api_client.post(CHECK, body, format="json").json()
    as_itself = api_client.post(f"{CHECK}?feature=reco-a", body, format="json").json()
    assert "identity-reuse" in {finding["rule_id"] for finding in as_new["findings"]}
    assert "identity-reuse" not in {finding["rule_id"] for finding in as_itself["findings"]}
    path = tmp_path / "declaration.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    assert cli_report(path, "--feature", "reco-a")["findings"] == as_itself["findings"]
    assert api_client.post(f"{CHECK}?feature=not a key", body, format="json").status_code == 400


# --- the README's CI snippet, run for real ------------------------------------------------------------------
# `curl -sf … | jq -e '.critical == false'` alone lets a refused request pass: on a 400, 401 or 5xx curl -f
# prints nothing, and jq 1.6 -e exits 0 on empty input. Either the shell fails the pipe (pipefail, with
# --fail-with-body so the error body reaches the log), or jq must read one input (-n with `input`).
CHECK_REQUEST = (
    'curl -sS {fail} -X POST "$URL/api/v1/check" -H "Authorization: Bearer $TOKEN" '
    '-H "Content-Type: application/yaml" --data-binary @"$FILE"'
)
CI_SNIPPETS = {
    "bash-pipefail": (
        "bash",
        "set -o pipefail; " + CHECK_REQUEST.format(fail="--fail-with-body") + " | jq -e '.critical == false'",
    ),
    "posix-sh": ("sh", CHECK_REQUEST.format(fail="-f") + " | jq -en 'input.critical == false'"),
}


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl and jq")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("snippet", CI_SNIPPETS, ids=list(CI_SNIPPETS))
def test_the_ci_snippet_fails_a_merge_request_exactly_when_it_should(
    live_server, owner, team, token_header, registry_catalogue, tmp_path, snippet
):
    token = token_header(owner, scopes=[TokenScope.REGISTRATIONS_WRITE], teams=[team])["Authorization"].split()[1]
    passing, critical, malformed = tmp_path / "ok.yaml", tmp_path / "critical.yaml", tmp_path / "bad.yaml"
    passing.write_bytes(EXAMPLE.read_bytes())
    critical.write_text(CRITICAL, encoding="utf-8")
    malformed.write_text("explanation: [unclosed\n", encoding="utf-8")
    shell, script = CI_SNIPPETS[snippet]

    def run(file: Path, bearer: str = token, url: str = live_server.url) -> int:
        env = {"URL": url, "TOKEN": bearer, "FILE": str(file), "PATH": "/usr/bin:/bin"}
        command = [shell, "-c", script]  # our own fixed script; the variables come in through the environment
        return subprocess.run(command, env=env, capture_output=True, timeout=60, check=False).returncode  # noqa: S603

    assert run(passing) == 0
    assert run(critical) != 0
    assert run(malformed) != 0  # 400
    assert run(passing, bearer="pgv_wrong_token") != 0  # 401
    assert run(passing, url="http://127.0.0.1:9") != 0  # nothing listening
