"""`manage.py benchmark_evidence`: measures a whole-registry pack on synthetic data and keeps nothing."""

import io

import pytest
from django.core.management import CommandError, call_command

from features.models import Decision, Feature, Finding, Registration, Signal
from governance.accounts.models import Team
from governance.drift.models import ObservedEdge
from tests.factories import FeatureFactory

pytestmark = pytest.mark.django_db

TINY = {"features": 6, "small": 2, "versions": 2}


@pytest.fixture(autouse=True)
def signing_key(settings, tmp_path):
    settings.EVIDENCE_SIGNING_KEY_FILE = str(tmp_path / "never-used.pem")
    return tmp_path / "never-used.pem"


def test_the_benchmark_reports_both_runs_and_leaves_nothing_behind(signing_key):
    out = io.StringIO()

    call_command("benchmark_evidence", **TINY, stdout=out)

    report = out.getvalue()
    assert "     2 features:" in report and "     6 features:" in report
    assert "tracemalloc peak" in report and "peak RSS" in report
    assert "Memory ratio 6/2 features" in report
    assert "Targets met" in report
    for model in (Team, Signal, Feature, Registration, Decision, Finding, ObservedEdge):
        assert not model.objects.exists(), model
    assert not signing_key.exists()  # it signed with a throwaway key, not the deployment's


def test_the_benchmark_refuses_a_database_that_holds_features():
    FeatureFactory()

    with pytest.raises(CommandError, match="already holds features"):
        call_command("benchmark_evidence", **TINY, stdout=io.StringIO())


def test_a_missed_target_fails_the_command():
    with pytest.raises(CommandError, match="Targets missed"):
        call_command("benchmark_evidence", **TINY, max_seconds=0.000001, stdout=io.StringIO())
