"""Each policy rule alone: where it fires, where it stays silent. Pure: no database."""

from dataclasses import replace

from features.choices import DestinationKind, IdentityKind, IdentityStatus
from features.declaration import DestinationDeclaration, IdentityDeclaration, SignalDeclaration
from governance.policy import rules
from governance.policy.rules import Severity
from tests.factories import complete_declaration
from tests.policy.support import identity_facts, make_context


def paths(findings):
    return [finding.path for finding in findings]


def with_signals(*signals, **overrides):
    rows = tuple(SignalDeclaration(key, origin, "Needed.", 30) for key, origin in signals)
    destinations = (DestinationDeclaration("reco-ranker", DestinationKind.RANKING, tuple(k for k, _ in signals), True),)
    return complete_declaration(signals=rows, destinations=destinations, **overrides)


def with_identity(scopes=("profile:read",), access="read", **overrides):
    return complete_declaration(identities=(IdentityDeclaration("reco-reader", scopes, access),), **overrides)


def test_the_complete_declaration_raises_no_rule():
    declaration, context = complete_declaration(), make_context()
    findings = {rule_id: check(declaration, context) for rule_id, check in rules.RULES.items()}
    assert {rule_id: found for rule_id, found in findings.items() if found} == {}


# --- explanation-one-sentence ----------------------------------------------------------------------


def test_explanation_of_two_sentences_is_flagged():
    declaration = complete_declaration(explanation="We sort by language. We also sort by device.")
    (finding,) = rules.explanation_one_sentence(declaration, make_context())
    assert (finding.rule_id, finding.path, finding.severity) == (
        "explanation-one-sentence",
        "explanation",
        Severity.CRITICAL,
    )
    assert "one sentence" in finding.message


def test_empty_explanation_is_flagged():
    assert paths(rules.explanation_one_sentence(complete_declaration(explanation=""), make_context())) == [
        "explanation"
    ]


def test_explanation_over_the_context_limit_is_flagged():
    (finding,) = rules.explanation_one_sentence(complete_declaration(), make_context(explanation_max_chars=20))
    assert "20 characters" in finding.message


def test_one_short_sentence_passes():
    assert rules.explanation_one_sentence(complete_declaration(), make_context()) == []


# --- explanation-hidden-dependency -----------------------------------------------------------------


def test_explanation_naming_an_inventory_identity_is_flagged():
    context = make_context(identities=(identity_facts(), identity_facts("orders-db-reader")))
    declaration = complete_declaration(explanation="We read your orders through orders-db-reader.")
    (finding,) = rules.explanation_hidden_dependency(declaration, context)
    assert finding.severity == Severity.WARNING
    assert "orders-db-reader" in finding.message


def test_explanation_naming_a_declared_destination_is_flagged():
    declaration = complete_declaration(explanation="The Reco-Ranker orders products by your language.")
    (finding,) = rules.explanation_hidden_dependency(declaration, make_context())
    assert "reco-ranker (a destination)" in finding.message


def test_explanation_naming_backend_systems_is_flagged_whatever_the_case_or_plural():
    declaration = complete_declaration(explanation="Our Databases and the Kafka pipeline pick your language.")
    (finding,) = rules.explanation_hidden_dependency(declaration, make_context())
    assert "“database”" in finding.message
    assert "“kafka”" in finding.message
    assert "“pipeline”" in finding.message


def test_backend_words_only_count_as_whole_words():
    declaration = complete_declaration(explanation="We pick products for the backendless shopper in Vaulted Hall.")
    assert rules.explanation_hidden_dependency(declaration, make_context()) == []


def test_destination_named_by_a_plain_word_is_read_as_prose():
    declaration = complete_declaration(
        explanation="At checkout we list first the ways to pay that you used before.",
        destinations=(DestinationDeclaration("checkout", DestinationKind.RESPONSE, ("locale",), True),),
    )
    assert rules.explanation_hidden_dependency(declaration, make_context()) == []


def test_explanation_in_the_users_words_passes():
    assert rules.explanation_hidden_dependency(complete_declaration(), make_context()) == []


# --- signal-exceeds-tier ---------------------------------------------------------------------------


def test_medium_signal_at_tier_1_is_flagged_on_its_row():
    declaration = with_signals(("locale", "collected"), ("purchase_history", "collected"), requested_tier=1)
    (finding,) = rules.signal_exceeds_tier(declaration, make_context())
    assert finding.path == "signals.1.signal"
    assert finding.severity == Severity.CRITICAL
    assert "purchase_history" in finding.message and "tier 2" in finding.message


def test_tier_0_allows_no_personal_signal_at_all():
    declaration = with_signals(("locale", "collected"), ("device_class", "collected"), requested_tier=0)
    assert paths(rules.signal_exceeds_tier(declaration, make_context())) == [
        "signals.0.signal",
        "signals.1.signal",
    ]


def test_high_and_special_signals_need_tier_3():
    declaration = with_signals(("precise_location", "collected"), ("health_condition", "collected"), requested_tier=2)
    assert len(rules.signal_exceeds_tier(declaration, make_context())) == 2
    assert rules.signal_exceeds_tier(replace(declaration, requested_tier=3), make_context()) == []


def test_signals_within_the_tier_pass():
    declaration = with_signals(("locale", "collected"), ("purchase_history", "collected"), requested_tier=2)
    assert rules.signal_exceeds_tier(declaration, make_context()) == []


def test_unknown_signal_is_left_to_validation():
    declaration = with_signals(("not_in_catalogue", "collected"), requested_tier=0)
    assert rules.signal_exceeds_tier(declaration, make_context()) == []


# --- inferred-signal -------------------------------------------------------------------------------


def test_inferred_signal_below_tier_2_is_flagged():
    declaration = with_signals(("locale", "collected"), ("device_class", "inferred"), requested_tier=1)
    (finding,) = rules.inferred_signal(declaration, make_context())
    assert finding.path == "signals.1.origin"
    assert "device_class" in finding.message


def test_inferred_signal_at_tier_2_passes():
    declaration = with_signals(("purchase_history", "inferred"), requested_tier=2, consent_basis="consent")
    assert rules.inferred_signal(declaration, make_context()) == []


# --- consent-basis-insufficient --------------------------------------------------------------------


def test_tier_2_on_contract_is_flagged():
    (finding,) = rules.consent_basis_insufficient(
        complete_declaration(requested_tier=2, consent_basis="contract"), make_context()
    )
    assert finding.path == "consent_basis"
    assert "contract" in finding.message


def test_tier_3_without_any_basis_is_flagged():
    declaration = complete_declaration(requested_tier=3, consent_basis="")
    assert paths(rules.consent_basis_insufficient(declaration, make_context())) == ["consent_basis"]


def test_tier_2_on_consent_passes():
    declaration = complete_declaration(requested_tier=2, consent_basis="consent")
    assert rules.consent_basis_insufficient(declaration, make_context()) == []


def test_tier_1_may_rest_on_any_documented_basis():
    declaration = complete_declaration(requested_tier=1, consent_basis="legitimate_interest")
    assert rules.consent_basis_insufficient(declaration, make_context()) == []


# --- necessity-missing -----------------------------------------------------------------------------


def test_tier_3_without_necessity_is_flagged():
    declaration = complete_declaration(requested_tier=3, necessity_justification="  ")
    assert paths(rules.necessity_missing(declaration, make_context())) == ["necessity_justification"]


def test_tier_3_with_necessity_passes():
    declaration = complete_declaration(requested_tier=3, necessity_justification="Lending rules require it.")
    assert rules.necessity_missing(declaration, make_context()) == []


def test_tier_2_needs_no_necessity():
    assert rules.necessity_missing(complete_declaration(requested_tier=2), make_context()) == []


# --- long-lived-secret -----------------------------------------------------------------------------


def test_credential_living_longer_than_policy_is_a_warning():
    context = make_context(identities=(identity_facts(credential_max_lifetime_days=400),))
    (finding,) = rules.long_lived_secret(complete_declaration(), context)
    assert (finding.path, finding.severity) == ("identities.0.identity", Severity.WARNING)
    assert "400 days" in finding.message and "90-day" in finding.message


def test_lifetime_limit_comes_from_the_context():
    identities = (identity_facts(credential_max_lifetime_days=60),)
    assert rules.long_lived_secret(complete_declaration(), make_context(identities=identities)) == []
    flagged = rules.long_lived_secret(
        complete_declaration(), make_context(identities=identities, max_credential_lifetime_days=30)
    )
    assert len(flagged) == 1


def test_api_key_is_a_long_lived_secret():
    context = make_context(identities=(identity_facts(kind=IdentityKind.API_KEY),))
    (finding,) = rules.long_lived_secret(complete_declaration(), context)
    assert finding.severity == Severity.WARNING
    assert "static API key" in finding.message


def test_user_password_is_critical():
    context = make_context(identities=(identity_facts(kind=IdentityKind.USER_PASSWORD),))
    (finding,) = rules.long_lived_secret(complete_declaration(), context)
    assert finding.severity == Severity.CRITICAL


def test_short_lived_workload_identity_passes():
    assert rules.long_lived_secret(complete_declaration(), make_context()) == []


# --- secret-outside-manager ------------------------------------------------------------------------


def test_secret_on_a_wiki_is_flagged_without_repeating_the_location():
    location = "https://wiki.internal/pages/reco-creds"
    context = make_context(identities=(identity_facts(secret_location=location),))
    (finding,) = rules.secret_outside_manager(complete_declaration(), context)
    assert (finding.path, finding.severity) == ("identities.0.identity", Severity.CRITICAL)
    assert location not in finding.message
    assert "https://" in finding.message and "vault://" in finding.message


def test_secret_location_that_is_not_a_reference_is_flagged():
    context = make_context(identities=(identity_facts(secret_location="/etc/reco/creds.txt"),))
    assert len(rules.secret_outside_manager(complete_declaration(), context)) == 1


def test_static_secret_without_a_location_is_flagged():
    context = make_context(identities=(identity_facts(kind=IdentityKind.API_KEY, secret_location=""),))
    (finding,) = rules.secret_outside_manager(complete_declaration(), context)
    assert "static secret" in finding.message


def test_reference_into_a_configured_manager_passes():
    context = make_context(identities=(identity_facts(secret_location="AWSSM://prod/reco/reader"),))
    assert rules.secret_outside_manager(complete_declaration(), context) == []


def test_manager_schemes_come_from_the_context():
    context = make_context(identities=(identity_facts(),), secret_manager_schemes=("awssm",))
    assert len(rules.secret_outside_manager(complete_declaration(), context)) == 1


def test_workload_identity_without_a_secret_passes():
    context = make_context(identities=(identity_facts(secret_location=""),))
    assert rules.secret_outside_manager(complete_declaration(), context) == []


# --- overprivileged-identity -----------------------------------------------------------------------


def test_scopes_beyond_the_declared_need_are_listed():
    context = make_context(identities=(identity_facts(granted_scopes=("profile:read", "orders:read", "cart:read")),))
    (finding,) = rules.overprivileged_identity(with_identity(("profile:read",)), context)
    assert (finding.path, finding.severity) == ("identities.0.scopes", Severity.WARNING)
    assert "orders:read, cart:read" in finding.message


def test_wildcard_scope_is_critical():
    context = make_context(identities=(identity_facts(granted_scopes=("*",)),))
    (finding,) = rules.overprivileged_identity(with_identity(("profile:read",)), context)
    assert finding.severity == Severity.CRITICAL
    assert "wildcard" in finding.message


def test_namespaced_wildcards_are_critical_too():
    for scope in ("orders:*", "*:read"):
        context = make_context(identities=(identity_facts(granted_scopes=("profile:read", scope)),))
        (finding,) = rules.overprivileged_identity(with_identity(("profile:read",)), context)
        assert finding.severity == Severity.CRITICAL, scope


def test_write_scope_for_a_read_only_use_is_flagged():
    context = make_context(identities=(identity_facts(granted_scopes=("profile:read", "profile:write")),))
    declaration = with_identity(("profile:read", "profile:write"), access="read")
    (finding,) = rules.overprivileged_identity(declaration, context)
    assert "can write (profile:write)" in finding.message


def test_write_scope_for_a_writing_use_passes():
    context = make_context(identities=(identity_facts(granted_scopes=("segments:write",)),))
    declaration = with_identity(("segments:write",), access="write")
    assert rules.overprivileged_identity(declaration, context) == []


def test_grants_matching_the_declared_need_pass():
    context = make_context(identities=(identity_facts(granted_scopes=("profile:read", "orders:read")),))
    assert rules.overprivileged_identity(with_identity(("profile:read", "orders:read")), context) == []


# --- identity-reuse --------------------------------------------------------------------------------


def test_identity_serving_another_purpose_is_flagged_naming_the_features():
    uses = {"reco-reader": {"email-digest": "Weekly email of deals.", "search-boost": "Rank search."}}
    (finding,) = rules.identity_reuse(complete_declaration(), make_context(identity_uses=uses))
    assert (finding.path, finding.severity) == ("identities.0.identity", Severity.WARNING)
    assert "email-digest, search-boost" in finding.message


def test_same_purpose_differently_typed_is_not_reuse():
    purpose = complete_declaration().purpose
    uses = {"reco-reader": {"reco-mobile": "  " + purpose.upper().rstrip(".") + "  "}}
    assert rules.identity_reuse(complete_declaration(), make_context(identity_uses=uses)) == []


def test_the_features_own_versions_are_not_reuse():
    uses = {"reco-reader": {"reco-locale": "An older purpose."}}
    context = make_context(identity_uses=uses, feature_key="reco-locale")
    assert rules.identity_reuse(complete_declaration(), context) == []


def test_identity_used_by_no_other_feature_passes():
    assert rules.identity_reuse(complete_declaration(), make_context()) == []


# --- orphaned-identity -----------------------------------------------------------------------------


def test_identity_without_a_team_is_flagged():
    (finding,) = rules.orphaned_identity(complete_declaration(), make_context(identities=(identity_facts(team=None),)))
    assert (finding.path, finding.severity) == ("identities.0.identity", Severity.CRITICAL)
    assert "no team owns it" in finding.message


def test_disabled_identity_is_flagged():
    context = make_context(identities=(identity_facts(status=IdentityStatus.DISABLED),))
    (finding,) = rules.orphaned_identity(complete_declaration(), context)
    assert "disabled" in finding.message


def test_owned_active_identity_passes():
    assert rules.orphaned_identity(complete_declaration(), make_context()) == []


def test_identity_rules_skip_identities_the_inventory_does_not_know():
    context = make_context(identities=())
    declaration = with_identity(("*",))
    identity_rules = ("long-lived-secret", "secret-outside-manager", "overprivileged-identity", "orphaned-identity")
    assert [rules.RULES[rule_id](declaration, context) for rule_id in identity_rules] == [[], [], [], []]


# --- consent-after-destination ---------------------------------------------------------------------


def test_ranking_before_consent_is_flagged():
    declaration = complete_declaration(
        destinations=(
            DestinationDeclaration("home-page", DestinationKind.RESPONSE, ("locale",), False),
            DestinationDeclaration("reco-ranker", DestinationKind.RANKING, ("locale",), False),
        )
    )
    (finding,) = rules.consent_after_destination(declaration, make_context())
    assert (finding.path, finding.severity) == ("destinations.1.controls_before", Severity.CRITICAL)
    assert "reco-ranker" in finding.message


def test_every_controlled_kind_needs_controls_first():
    for kind in ("ranking", "recommendation", "segmentation", "third_party"):
        declaration = complete_declaration(destinations=(DestinationDeclaration("x-1", kind, ("locale",), False),))
        assert len(rules.consent_after_destination(declaration, make_context())) == 1, kind


def test_controls_applied_first_pass():
    assert rules.consent_after_destination(complete_declaration(), make_context()) == []


def test_analytics_without_controls_first_is_not_this_rule():
    declaration = complete_declaration(
        destinations=(DestinationDeclaration("events", DestinationKind.ANALYTICS, ("locale",), False),)
    )
    assert rules.consent_after_destination(declaration, make_context()) == []


# --- third-party-destination -----------------------------------------------------------------------


def test_third_party_below_tier_3_is_flagged():
    declaration = complete_declaration(
        requested_tier=2,
        destinations=(DestinationDeclaration("ad-partner", DestinationKind.THIRD_PARTY, ("locale",), True),),
    )
    (finding,) = rules.third_party_destination(declaration, make_context())
    assert (finding.path, finding.severity) == ("destinations.0.kind", Severity.CRITICAL)
    assert "ad-partner" in finding.message


def test_third_party_at_tier_3_passes():
    declaration = complete_declaration(
        requested_tier=3,
        destinations=(DestinationDeclaration("ad-partner", DestinationKind.THIRD_PARTY, ("locale",), True),),
    )
    assert rules.third_party_destination(declaration, make_context()) == []


def test_first_party_destinations_pass():
    assert rules.third_party_destination(complete_declaration(), make_context()) == []


# --- retention-missing -----------------------------------------------------------------------------


def test_registration_without_retention_is_flagged():
    findings = rules.retention_missing(complete_declaration(retention_days=None), make_context())
    assert paths(findings) == ["retention_days"]
    assert findings[0].severity == Severity.CRITICAL


def test_each_signal_without_retention_is_flagged():
    declaration = complete_declaration(
        signals=(
            SignalDeclaration("locale", "collected", "Needed.", None),
            SignalDeclaration("device_class", "collected", "Needed.", 7),
            SignalDeclaration("purchase_history", "collected", "Needed.", None),
        )
    )
    assert paths(rules.retention_missing(declaration, make_context())) == [
        "signals.0.retention_days",
        "signals.2.retention_days",
    ]


def test_retention_everywhere_passes():
    assert rules.retention_missing(complete_declaration(), make_context()) == []
