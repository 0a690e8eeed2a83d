"""Each rule's default severity, title and framework references, read from references.yaml.

The references are data so a compliance lead can correct a citation without touching a rule.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import yaml
from django.core.exceptions import ImproperlyConfigured

from governance.policy.severity import Severity

REFERENCES_FILE = Path(__file__).with_name("references.yaml")


@dataclass(frozen=True)
class Reference:
    """One framework control a rule helps meet, e.g. OWASP NHI Top 10 2025 · NHI7 Long-Lived Secrets."""

    framework: str
    id: str
    title: str

    def __str__(self) -> str:
        return f"{self.framework} {self.id} {self.title}"

    def as_dict(self) -> dict[str, str]:
        return {"framework": self.framework, "id": self.id, "title": self.title}


@dataclass(frozen=True)
class RuleInfo:
    """What to show about a rule: its default severity, title and references."""

    rule_id: str
    severity: Severity
    title: str
    references: tuple[Reference, ...]


@functools.cache
def load_references() -> Mapping[str, RuleInfo]:
    """Every rule's entry in references.yaml, by rule id (read once per process)."""
    raw = yaml.safe_load(REFERENCES_FILE.read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict):
        raise ImproperlyConfigured(f"{REFERENCES_FILE.name} must map rule ids to their entries.")
    return MappingProxyType({rule_id: _rule_info(rule_id, entry) for rule_id, entry in raw.items()})


def _rule_info(rule_id: str, entry) -> RuleInfo:
    where = f"{REFERENCES_FILE.name}, {rule_id}"
    if not isinstance(entry, dict):
        raise ImproperlyConfigured(f"{where}: give severity, title and references.")
    if entry.get("severity") not in Severity.values:
        raise ImproperlyConfigured(f"{where}: severity must be one of {', '.join(Severity.values)}.")
    references = entry.get("references") or []
    try:
        parsed = tuple(Reference(str(r["framework"]), str(r["id"]), str(r["title"])) for r in references)
    except (KeyError, TypeError):
        raise ImproperlyConfigured(f"{where}: each reference needs framework, id and title.") from None
    return RuleInfo(
        rule_id=rule_id,
        severity=Severity(entry["severity"]),
        title=str(entry.get("title") or rule_id),
        references=parsed,
    )


def explain(rule_id: str) -> RuleInfo:
    """The title, default severity and references of one rule (LookupError if there is no such rule)."""
    try:
        return load_references()[rule_id]
    except KeyError:
        raise LookupError(f"No policy rule {rule_id!r} in {REFERENCES_FILE.name}.") from None
