"""The registration page checks what is typed against the policy rules, live, without saving it."""

from features.models import Feature, Registration
from tests.factories import SignalFactory, catalogue_for, complete_declaration

FORM = {
    "explanation": "We order products by the language you browse in.",
    "requested_tier": "1",
    "signals-TOTAL_FORMS": "1",
    "signals-INITIAL_FORMS": "0",
    "signals-0-signal": "purchase_history",
    "signals-0-origin": "collected",
    "signals-0-justification": "To rank what was bought before.",
    "signals-0-retention_days": "30",
    "identities-TOTAL_FORMS": "0",
    "identities-INITIAL_FORMS": "0",
    "destinations-TOTAL_FORMS": "0",
    "destinations-INITIAL_FORMS": "0",
    "action": "check",
}


def test_live_check_names_the_rule_a_typed_declaration_breaks_and_saves_nothing(client, owner, db):
    SignalFactory(key="purchase_history", sensitivity="medium")
    client.force_login(owner)
    response = client.post("/features/new/", FORM, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="live-findings"' in page and "<html" not in page
    assert "signal-exceeds-tier" in page and "purchase_history" in page
    assert Feature.objects.count() == 0 and Registration.objects.count() == 0


def test_live_check_says_when_everything_passes(client, owner, team):
    declaration = complete_declaration()
    catalogue_for(declaration)
    client.force_login(owner)
    form = {**FORM, "signals-0-signal": "locale", "consent_basis": "contract", "retention_days": "30"}
    page = client.post("/features/new/", form, headers={"HX-Request": "true"}).content.decode()
    assert "every policy rule passes" in page


def test_feature_page_shows_the_policy_check_of_a_saved_draft(client, owner, team):
    from features.services import feature_create

    SignalFactory(key="purchase_history", sensitivity="medium")
    declaration = complete_declaration()
    catalogue_for(declaration)
    feature_create(
        actor=owner,
        key="reco",
        name="Reco",
        team=team,
        declaration=complete_declaration(
            signals=(*declaration.signals, declaration.signals[0].__class__("purchase_history", "collected", "x", 9)),
        ),
    )
    client.force_login(owner)
    page = client.get("/features/reco/").content.decode()
    assert "Policy check of the draft" in page and "signal-exceeds-tier" in page
