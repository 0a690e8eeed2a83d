"""Refusing secret-shaped input: the app stores references to secrets, never secret values.

Known credential formats come from Yelp's detect-secrets plugins (cloud keys, GitHub, Slack, Stripe,
private keys, JWTs, …). Its entropy plugins are built for source files and flag ordinary prose when
scanning free text, so long random-looking tokens are judged here instead, with detect-secrets'
entropy measure and allowances for the identifiers people legitimately paste (UUIDs, hex digests).
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
