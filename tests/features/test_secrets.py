"""Secret-shaped input is recognised, refused at its path, and never echoed or logged.

The fake credentials below are assembled from pieces at runtime so this file does not itself look like
it holds credentials to a scanner; none of them is real.
"""

import base64
import json
import logging
import random
import string
from dataclasses import replace

import pytest

from features.choices import DestinationKind
from features.declaration import (
    DeclarationInvalid,
    DestinationDeclaration,
    IdentityDeclaration,
    SignalDeclaration,
    parse_declaration,
)
from features.secrets import HIGH_ENTROPY, secret_kind
from features.validation import Catalogue, validate_declaration
from tests.factories import complete_declaration
from tests.security.secrets_fixtures import SAMPLES


def _b64url(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _random_token(length: int, seed: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(random.Random(seed).choices(alphabet, k=length))


AWS_ACCESS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
GITHUB_TOKEN = "ghp" + "_" + "wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUx"
SLACK_TOKEN = "xoxb" + "-" + "123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx"
STRIPE_LIVE_KEY = "sk" + "_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
PRIVATE_KEY = "\n".join(
    [
        "-----BEGIN RSA " + "PRIVATE KEY-----",
        "MIIEowIBAAKCAQEA" + "x" * 48,
        "-----END RSA " + "PRIVATE KEY-----",
    ]
)
JWT = ".".join(
    [
        _b64url({"alg": "HS256", "typ": "JWT"}),
        _b64url({"sub": "reco-reader", "iat": 1716000000}),
        _random_token(43, seed=7),
    ]
)
HIGH_ENTROPY_TOKEN = _random_token(40, seed=20240601)

SECRETS = {
    "aws-access-key-id": (AWS_ACCESS_KEY_ID, "AWS Access Key"),
    "github-token": (GITHUB_TOKEN, "GitHub Token"),
    "slack-token": (SLACK_TOKEN, "Slack Token"),
    "stripe-live-key": (STRIPE_LIVE_KEY, "Stripe Access Key"),
    "private-key-block": (PRIVATE_KEY, "Private Key"),
    "jwt": (JWT, "JSON Web Token"),
    "high-entropy-token": (HIGH_ENTROPY_TOKEN, HIGH_ENTROPY),
}

BENIGN = {
    "uuid": "550e8400-e29b-41d4-a716-446655440000",
    "uuid-upper-case": "550E8400-E29B-41D4-A716-446655440000",
    "uuid-in-prose": "Request 550e8400-e29b-41d4-a716-446655440000 was reviewed.",
    "sha256-hex": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "sha256-prefixed": "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "https-url": "https://consent.example.com/policies/Personalisation2024/SectionFour",
    "https-url-with-query": "https://example.com/consent?campaign=Spring2024PersonalisationBanner",
    "oauth-scope-url": "https://www.googleapis.com/auth/userinfo.profile",
    "vault-reference": "vault://kv/recommendations/reco-reader",
    "aws-secrets-manager-reference": "awssm://eu-west-1/prod/recommendations/ReaderCredential2024",
    "explanation": "We order products by the language you browse in.",
    "purpose": "Show products in the shopper's language first on the home page.",
    "consent-mechanism": "Consent banner on first visit, recorded in the consent service (CMP v2).",
    "opt-out": "Settings › Personalisation › off; the feature flag reco-locale switches it off.",
    "necessity": "Product recommendations need 90 days of purchase history to be useful.",
    "prose-about-passwords": "The password reset flow is not affected by this feature.",
    "prose-about-tokens": "The token rotates every 30 days and lives in Vault.",
    "legal-reference": "Article 6(1)(a) GDPR; ePrivacy Directive Art. 5(3).",
    "scopes-with-comma": "orders:read, profile:read",
    "scopes-with-spaces": "orders:read profile:read catalogue:read",
    "feature-key": "homepage-hero-personalisation-v2",
    "signal-key": "purchase_history",
    "destination-name": "analytics.events-pipeline_v3",
    "camel-case-identifier": "RecommendationRankerServiceAccount2024",
    "empty": "",
}


@pytest.mark.parametrize(("value", "kind"), SECRETS.values(), ids=SECRETS.keys())
def test_secret_kind_detects_each_family(value, kind):
    assert secret_kind(value) == kind


@pytest.mark.parametrize(("value", "kind"), SECRETS.values(), ids=SECRETS.keys())
def test_secret_kind_detects_a_secret_inside_a_sentence(value, kind):
    assert secret_kind(f"Use this to call the ranker: {value} (until Friday).") is not None


@pytest.mark.parametrize("value", BENIGN.values(), ids=BENIGN.keys())
def test_secret_kind_accepts_benign_text(value):
    assert secret_kind(value) is None


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda sample: sample.id)
def test_secret_kind_detects_every_variant_of_every_family_bare_and_in_a_sentence(sample):
    assert secret_kind(sample.value) is not None
    assert secret_kind(f"Until Friday, use {sample.value} to call the ranker.") is not None


# Formats detect-secrets does not know: features.secrets.PROJECT_FORMATS names them.
PROJECT_FORMAT_KINDS = {
    "gcp:service-account-key-file": "Google Cloud service account key",
    "gcp:api-key": "Google API Key",
    "azure:sas-url": "Azure shared access signature",
    "azure:entra-client-secret": "Azure AD client secret",
    "github:fine-grained-token": "GitHub Token",
    "private-key:pkcs8-encrypted": "Private Key",
}


@pytest.mark.parametrize(("sample_id", "kind"), PROJECT_FORMAT_KINDS.items())
def test_secret_kind_names_the_formats_detect_secrets_does_not_know(sample_id, kind):
    (sample,) = [sample for sample in SAMPLES if sample.id == sample_id]
    assert secret_kind(sample.value) == kind


@pytest.mark.parametrize(
    "value",
    [
        "-----BEGIN CERTIFICATE-----",
        "-----BEGIN PUBLIC KEY-----",
        "https://cdn.example.com/img/banner.png?w=640&sig=7f3a",
        "AIza is the prefix of Google API keys.",
        "Rotate the client secret (format xxx8Q~…) every 90 days.",
        "github_pat_ tokens are not allowed; use a GitHub App.",
    ],
)
def test_project_formats_do_not_fire_on_what_only_resembles_them(value):
    assert secret_kind(value) is None


# --- validate_declaration refuses a secret in any free-text field ----------------------------------

CATALOGUE = Catalogue(signals=frozenset({"locale"}), identities=frozenset({"reco-reader"}))


def _with_secret(path: str, secret: str):
    """The complete declaration with `secret` placed in the free-text field at `path`."""
    declaration = complete_declaration()
    (signal,) = declaration.signals
    (identity,) = declaration.identities
    (destination,) = declaration.destinations
    placements = {
        "explanation": lambda: replace(declaration, explanation=f"We rank with {secret} for you."),
        "purpose": lambda: replace(declaration, purpose=f"Call the ranker with {secret}"),
        "consent_mechanism": lambda: replace(declaration, consent_mechanism=secret),
        "opt_out": lambda: replace(declaration, opt_out=f"Revoke {secret} to switch it off."),
        "necessity_justification": lambda: replace(declaration, necessity_justification=secret),
        "signals.0.justification": lambda: replace(
            declaration, signals=(replace(signal, justification=f"Fetched with {secret}"),)
        ),
        "identities.0.scopes": lambda: replace(
            declaration, identities=(replace(identity, scopes=("profile:read", secret)),)
        ),
        "destinations.0.name": lambda: replace(declaration, destinations=(replace(destination, name=secret),)),
    }
    return placements[path]()


FREE_TEXT_PATHS = [
    "explanation",
    "purpose",
    "consent_mechanism",
    "opt_out",
    "necessity_justification",
    "signals.0.justification",
    "identities.0.scopes",
    "destinations.0.name",
]


def _refusal(declaration) -> DeclarationInvalid:
    with pytest.raises(DeclarationInvalid) as refused:
        validate_declaration(declaration, catalogue=CATALOGUE, complete=False)
    return refused.value


def _all_messages(refused: DeclarationInvalid) -> str:
    return " ".join(message for messages in refused.errors.values() for message in messages)


@pytest.mark.parametrize("path", FREE_TEXT_PATHS)
def test_secret_in_a_free_text_field_is_refused_at_its_path(path):
    refused = _refusal(_with_secret(path, GITHUB_TOKEN))
    assert list(refused.errors) == [path]


@pytest.mark.parametrize("path", FREE_TEXT_PATHS)
def test_secret_refusal_says_it_looks_like_a_secret_and_was_not_saved(path):
    (message,) = _refusal(_with_secret(path, GITHUB_TOKEN)).errors[path]
    assert "looks like a secret (GitHub Token)" in message
    assert "was not saved" in message


@pytest.mark.parametrize("path", FREE_TEXT_PATHS)
@pytest.mark.parametrize(("secret", "kind"), SECRETS.values(), ids=SECRETS.keys())
def test_secret_refusal_does_not_contain_the_secret(path, secret, kind):
    refused = _refusal(_with_secret(path, secret))
    assert secret not in _all_messages(refused)
    assert secret not in str(refused)


def test_secret_typed_as_a_signal_key_is_refused_without_echo():
    declaration = complete_declaration(
        signals=(SignalDeclaration(AWS_ACCESS_KEY_ID, "collected", "To pick the language.", 30),),
        destinations=(),
    )
    refused = _refusal(declaration)
    assert list(refused.errors) == ["signals.0.signal"]
    assert AWS_ACCESS_KEY_ID not in str(refused)


def test_secret_typed_as_an_identity_is_refused_without_echo():
    declaration = complete_declaration(identities=(IdentityDeclaration(AWS_ACCESS_KEY_ID, ("profile:read",)),))
    refused = _refusal(declaration)
    assert list(refused.errors) == ["identities.0.identity"]
    assert AWS_ACCESS_KEY_ID not in str(refused)


def test_secret_among_destination_signals_is_refused_without_echo():
    declaration = complete_declaration(
        destinations=(DestinationDeclaration("reco-ranker", DestinationKind.RANKING, ("locale", SLACK_TOKEN)),)
    )
    refused = _refusal(declaration)
    assert list(refused.errors) == ["destinations.0.signals"]
    assert SLACK_TOKEN not in str(refused)


def test_validating_a_secret_logs_nothing_containing_it(caplog):
    caplog.set_level(logging.DEBUG)
    declaration = complete_declaration(purpose=f"Call the ranker with {STRIPE_LIVE_KEY}")
    with pytest.raises(DeclarationInvalid):
        validate_declaration(declaration, catalogue=CATALOGUE, complete=True)
    assert STRIPE_LIVE_KEY not in caplog.text
    assert all(STRIPE_LIVE_KEY not in record.getMessage() for record in caplog.records)


# --- parsing never echoes a secret pasted into a choice field --------------------------------------

CHOICE_PATHS = {
    "consent_basis": lambda raw, secret: raw.update(consent_basis=secret),
    "high_trust_domain": lambda raw, secret: raw.update(high_trust_domain=secret),
    "signals.0.origin": lambda raw, secret: raw["signals"][0].update(origin=secret),
    "identities.0.access": lambda raw, secret: raw["identities"][0].update(access=secret),
    "destinations.0.kind": lambda raw, secret: raw["destinations"][0].update(kind=secret),
}


@pytest.mark.parametrize("path", CHOICE_PATHS.keys())
def test_secret_pasted_into_a_choice_field_is_refused_without_echo(path):
    raw = complete_declaration().as_dict()
    CHOICE_PATHS[path](raw, AWS_ACCESS_KEY_ID)
    with pytest.raises(DeclarationInvalid) as refused:
        parse_declaration(raw)
    assert list(refused.value.errors) == [path]
    assert "looks like a secret" in refused.value.errors[path][0]
    assert AWS_ACCESS_KEY_ID not in str(refused.value)
