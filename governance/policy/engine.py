"""Run every policy rule on a declaration: the one entry point for the browser, API, check and CLI.

Pure: callers get the context from `features.selectors.policy_context_for` (the registry's facts)
and pass it in, so the engine itself never touches the database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from features.declaration import Declaration
from governance.policy.context import PolicyContext
from governance.policy.references import Reference, RuleInfo, explain, load_references
from governance.policy.rules import RULES, PolicyFinding
from governance.policy.severity import Severity

__all__ = [
    "RULES",
    "PolicyFinding",
    "Reference",
    "RuleInfo",
    "Severity",
    "evaluate",
    "explain",
    "has_critical",
    "load_references",
]

_NUMBER = re.compile(r"(\d+)")


def _path_order(path: str) -> tuple[tuple[int, int, str], ...]:
    """Sort "signals.2" before "signals.10", and the whole declaration ("") first."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in _NUMBER.split(path) if part)


def evaluate(declaration: Declaration, context: PolicyContext) -> list[PolicyFinding]:
    """Every rule's findings on `declaration`, critical first, then by field path, then by rule order."""
    findings = [finding for check in RULES.values() for finding in check(declaration, context)]
    return sorted(findings, key=lambda finding: (-finding.severity.rank, _path_order(finding.path)))


def has_critical(findings: Iterable[PolicyFinding]) -> bool:
    """Whether any finding blocks a submission."""
    return any(finding.severity == Severity.CRITICAL for finding in findings)
