"""Refusing secret-shaped input: the app stores references to secrets, never secret values.

Known credential formats come from Yelp's detect-secrets plugins (cloud keys, GitHub, Slack, Stripe,
private keys, JWTs, …) and from `PROJECT_FORMATS`, the few it does not know (Google API and
service-account keys, Azure SAS signatures and client secrets, GitHub fine-grained tokens, every PEM
private-key label). Its entropy plugins are built for source files and flag ordinary prose when scanning
free text, so long random-looking tokens are judged here instead, with detect-secrets' entropy measure
and allowances for the identifiers people legitimately paste (UUIDs, hex digests: a hex-encoded key
cannot be told from a SHA-256 digest, so it passes).
Nothing here logs or returns the value itself: only the kind of secret it looks like.
"""

from __future__ import annotations

import re
from functools import cache

from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString

# Detectors that judge by context or by entropy, not by a credential's format: they either misfire on
# prose ("password reset flow") or are replaced by `_looks_random` below. IP addresses are not secrets.
NOT_FORMAT_DETECTORS = {
    "Base64 High Entropy String",
    "Hex High Entropy String",
    "Secret Keyword",
    "Public IP (ipv4)",
}


# Formats detect-secrets does not know (or names too broadly). They are checked first, so the kind a
# refusal names is the most specific one.
PROJECT_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # A service-account key file (JSON), pasted whole or in part: its private key, whatever the layout.
    ("Google Cloud service account key", re.compile(r"\"private_key\"\s*:\s*\"-----BEGIN")),
    ("Google API Key", re.compile(r"(?<![\w-])AIza[\w-]{35}(?![\w-])", re.ASCII)),
    # The `sig` parameter of a shared access signature (SAS) URL or connection string.
    ("Azure shared access signature", re.compile(r"(?:^|[?&;\s])sig=[A-Za-z0-9%+/]{30,}")),
    # Microsoft Entra ID (Azure AD) client secrets: three characters, a digit, "Q~", then 31 to 34 more.
    ("Azure AD client secret", re.compile(r"(?<![\w~.-])[\w~.]{3}[0-9]Q~[\w~.-]{31,34}(?![\w~.-])", re.ASCII)),
    ("GitHub Token", re.compile(r"github_pat_\w{22,}", re.ASCII)),
    # detect-secrets knows some PEM labels only; "ENCRYPTED PRIVATE KEY" (PKCS #8) is a private key too.
    ("Private Key", re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")),
)

TOKEN = re.compile(r"[A-Za-z0-9+/_=\-]{24,}")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
HEX = re.compile(r"^[0-9a-fA-F]+$")
MIN_ENTROPY_BITS_PER_CHAR = 4.2
HIGH_ENTROPY = "High-entropy string (a likely key or token)"


@cache
def _format_detectors() -> tuple[RegexBasedDetector, ...]:
    return tuple(
        plugin()
        for secret_type, plugin in sorted(get_mapping_from_secret_type_to_class().items())
        if secret_type not in NOT_FORMAT_DETECTORS and issubclass(plugin, RegexBasedDetector)
    )


_entropy = Base64HighEntropyString()


def _looks_random(token: str) -> bool:
    token = token.strip("=")
    if UUID.match(token) or HEX.match(token) or ("/" in token.strip("/") and token.count("/") > 2):
        return False
    has_digit = any(c.isdigit() for c in token)
    has_upper = any(c.isupper() for c in token)
    has_lower = any(c.islower() for c in token)
    if not (has_digit and has_upper and has_lower):
        return False
    return _entropy.calculate_shannon_entropy(token) >= MIN_ENTROPY_BITS_PER_CHAR


def secret_kind(value: str) -> str | None:
    """The kind of secret `value` appears to contain (e.g. "AWS Access Key"), or None."""
    if not value:
        return None
    for line in value.splitlines() or [value]:
        for kind, pattern in PROJECT_FORMATS:
            if pattern.search(line):
                return kind
        for detector in _format_detectors():
            if any(True for _ in detector.analyze_string(line)):
                return detector.secret_type
    for token in TOKEN.findall(value):
        if _looks_random(token):
            return HIGH_ENTROPY
    return None


def secret_refusal(kind: str) -> str:
    """The message a person sees: why the value was refused, and what to put instead."""
    return (
        f"This looks like a secret ({kind}), so it was not saved. Never paste secret values here: "
        "reference where the secret lives instead, for example vault://kv/team/name."
    )
