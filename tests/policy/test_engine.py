"""The engine: every rule, one order, references for each; pure (no database)."""

import pytest

from features.choices import DestinationKind
from features.declaration import DestinationDeclaration, SignalDeclaration
from governance.policy.context import SignalFacts
from governance.policy.engine import RULES, evaluate, explain, has_critical, load_references
from governance.policy.rules import PolicyFinding, Severity
from tests.factories import complete_declaration
from tests.policy.support import CATALOGUE, identity_facts, make_context

DESIGN_RULES = [
    "explanation-one-sentence",
    "explanation-hidden-dependency",
    "signal-exceeds-tier",
    "inferred-signal",
    "consent-basis-insufficient",
    "necessity-missing",
    "long-lived-secret",
    "secret-outside-manager",
    "overprivileged-identity",
    "identity-reuse",
    "orphaned-identity",
    "consent-after-destination",
    "third-party-destination",
    "retention-missing",
]


def test_every_rule_of_the_design_is_registered_in_its_order():
    assert list(RULES) == DESIGN_RULES


def test_every_rule_has_references_and_every_reference_entry_has_a_rule():
    references = load_references()
    assert set(references) == set(RULES)
    for rule_id, info in references.items():
        assert info.references, rule_id
        assert info.title and info.severity in Severity.values, rule_id
        assert all(ref.framework and ref.id and ref.title for ref in info.references), rule_id


def test_every_rule_states_its_intent_in_a_docstring():
    assert [rule_id for rule_id, check in RULES.items() if not (check.__doc__ or "").strip()] == []


def test_explain_gives_the_title_and_references_for_display():
    info = explain("long-lived-secret")
    assert info.severity == Severity.WARNING
    assert "OWASP NHI Top 10 2025 NHI7 Long-Lived Secrets" in [str(ref) for ref in info.references]


def test_explain_refuses_an_unknown_rule():
    with pytest.raises(LookupError):
        explain("no-such-rule")


def test_complete_declaration_has_no_findings():
    assert evaluate(complete_declaration(), make_context()) == []


def test_findings_come_critical_first_then_by_path_in_number_order():
    signals = tuple(SignalDeclaration(f"s{n}", "collected", "Needed.", None) for n in range(11))
    context = make_context(
        signals=(*CATALOGUE, *(SignalFacts(f"s{n}", "low", "context") for n in range(11))),
        identities=(identity_facts(granted_scopes=("profile:read", "orders:read")),),
    )
    declaration = complete_declaration(
        explanation="We use the database to sort products by your language.",
        signals=signals,
        destinations=(DestinationDeclaration("reco-ranker", DestinationKind.RANKING, ("s0",), True),),
    )
    findings = evaluate(declaration, context)
    assert [(f.severity.value, f.path) for f in findings] == [
        *(("critical", f"signals.{n}.retention_days") for n in range(11)),
        ("warning", "explanation"),
        ("warning", "identities.0.scopes"),
    ]


def test_has_critical():
    warning = PolicyFinding("identity-reuse", Severity.WARNING, "m", "", ())
    critical = PolicyFinding("retention-missing", Severity.CRITICAL, "m", "", ())
    assert not has_critical([])
    assert not has_critical([warning])
    assert has_critical([warning, critical])


def test_findings_carry_their_rules_references():
    (finding,) = evaluate(complete_declaration(retention_days=None), make_context())
    assert finding.references == explain("retention-missing").references
    assert finding.as_dict()["references"][0]["framework"] == "GDPR"
