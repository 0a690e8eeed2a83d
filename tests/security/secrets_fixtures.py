"""Secret-shaped values, one family per kind of detector, and the benign corpus they must not be confused with.

Every fake credential is assembled at runtime from a fixed seed, so this file holds none a scanner would
flag, and the same values come back on every run; none is real. `needle` is the part of a value that is
the secret itself, spelled so that JSON or HTML escaping would not hide it: that is what the tests look
for in the database, the audit trail, the logs and the responses.
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass
from pathlib import Path

BENIGN_CORPUS = Path(__file__).with_name("secrets_benign_corpus.txt")
ALNUM = string.ascii_letters + string.digits


@dataclass(frozen=True)
class SecretSample:
    family: str
    variant: str
    value: str
    needle: str

    @property
    def id(self) -> str:
        return f"{self.family}:{self.variant}"


def _random(length: int, seed: int, alphabet: str = ALNUM) -> str:
    return "".join(random.Random(seed).choices(alphabet, k=length))


def _random_bytes(length: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(length)


def _b64url_json(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _sample(family: str, variant: str, value: str, needle: str | None = None) -> SecretSample:
    return SecretSample(family, variant, value, needle if needle is not None else value)


def _pem(label: str, seed: int) -> tuple[str, str]:
    body = base64.b64encode(_random_bytes(96, seed)).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]), lines[0]


def _samples() -> tuple[SecretSample, ...]:
    aws_secret = _random(40, 101, ALNUM + "+/")
    gcp_pem, gcp_needle = _pem("PRIVATE " + "KEY", 102)
    gcp_key_file = json.dumps(
        {
            "type": "service_account",
            "project_id": "reco-prod",
            "private_key_id": _random(40, 103, "0123456789abcdef"),
            "private_key": gcp_pem + "\n",
            "client_email": "reco-reader@reco-prod.iam.gserviceaccount.com",
        }
    )
    azure_account_key = base64.b64encode(_random_bytes(64, 104)).decode()
    azure_sas_sig = base64.b64encode(_random_bytes(32, 105)).decode().replace("+", "%2B").replace("/", "%2F")
    slack_webhook_secret = _random(24, 106)
    rsa_pem, rsa_needle = _pem("RSA PRIVATE " + "KEY", 107)
    openssh_pem, openssh_needle = _pem("OPENSSH PRIVATE " + "KEY", 108)
    encrypted_pem, encrypted_needle = _pem("ENCRYPTED PRIVATE " + "KEY", 109)
    return (
        _sample("aws", "access-key-id", "AKIA" + _random(16, 1, string.ascii_uppercase + "234567")),
        _sample("aws", "temporary-access-key-id", "ASIA" + _random(16, 2, string.ascii_uppercase + "234567")),
        _sample("aws", "secret-access-key", aws_secret),
        _sample("gcp", "service-account-key-file", gcp_key_file, gcp_needle),
        _sample("gcp", "api-key", "AIza" + _random(35, 3, ALNUM + "-_")),
        _sample(
            "azure",
            "storage-connection-string",
            f"DefaultEndpointsProtocol=https;AccountName=recostore;AccountKey={azure_account_key};"
            "EndpointSuffix=core.windows.net",
            azure_account_key,
        ),
        _sample(
            "azure",
            "sas-url",
            f"https://recostore.blob.core.windows.net/events?sv=2022-11-02&sp=r&se=2026-12-31&sig={azure_sas_sig}",
            azure_sas_sig,
        ),
        _sample("azure", "entra-client-secret", "q7R8Q~" + _random(34, 4, ALNUM + "~._-")),
        _sample("github", "personal-access-token", "ghp_" + _random(36, 5)),
        _sample("github", "oauth-token", "gho_" + _random(36, 6)),
        _sample("github", "fine-grained-token", "github_pat_" + _random(22, 7) + "_" + _random(59, 8)),
        _sample("slack", "bot-token", "xoxb-" + "248163264128-1357911131517-" + _random(24, 9)),
        _sample(
            "slack",
            "user-token",
            "xoxp-" + "248163264128-248163264129-2481632641300-" + _random(32, 10, "0123456789abcdef"),
        ),
        _sample(
            "slack",
            "incoming-webhook",
            f"https://hooks.slack.com/services/T{_random(8, 11, string.ascii_uppercase)}/"
            f"B{_random(8, 12, string.ascii_uppercase)}/{slack_webhook_secret}",
            slack_webhook_secret,
        ),
        _sample("stripe", "live-secret-key", "sk_" + "live_" + _random(24, 13)),
        _sample("stripe", "restricted-key", "rk_" + "live_" + _random(24, 14)),
        _sample("stripe", "test-secret-key", "sk_" + "test_" + _random(24, 15)),
        _sample("private-key", "rsa-pem", rsa_pem, rsa_needle),
        _sample("private-key", "openssh", openssh_pem, openssh_needle),
        _sample("private-key", "pkcs8-encrypted", encrypted_pem, encrypted_needle),
        _sample(
            "jwt",
            "hs256",
            ".".join(
                [
                    _b64url_json({"alg": "HS256", "typ": "JWT"}),
                    _b64url_json({"sub": "reco-reader", "iat": 1716000000, "scope": "profile:read"}),
                    _random(43, 16, ALNUM + "-_"),
                ]
            ),
        ),
        _sample("high-entropy", "alphanumeric-40", _random(40, 17)),
        _sample("high-entropy", "base64-32-bytes", base64.b64encode(_random_bytes(32, 18)).decode()),
        _sample("high-entropy", "base64url-48-bytes", base64.urlsafe_b64encode(_random_bytes(48, 19)).decode()),
    )


SAMPLES = _samples()
FAMILIES = tuple(dict.fromkeys(sample.family for sample in SAMPLES))


def family_samples(family: str) -> tuple[SecretSample, ...]:
    return tuple(sample for sample in SAMPLES if sample.family == family)


def benign_corpus() -> list[tuple[str, str]]:
    """(category, value) for every line of the corpus file: `# category` starts a section, `##` is a note."""
    values, category = [], ""
    for line in BENIGN_CORPUS.read_text(encoding="utf-8").splitlines():
        if line.startswith("##"):
            continue
        if line.startswith("# "):
            category = line[2:].strip()
        elif line.strip():
            values.append((category, line))
    return values
