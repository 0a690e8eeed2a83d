from features.models.catalogue import ServiceIdentity, Signal
from features.models.decisions import Decision, Outcome
from features.models.findings import Finding, FindingSource, FindingStatus
from features.models.registry import (
    DeclaredDestination,
    DeclaredIdentity,
    DeclaredSignal,
    Feature,
    Registration,
)

__all__ = [
    "Decision",
    "DeclaredDestination",
    "DeclaredIdentity",
    "DeclaredSignal",
    "Feature",
    "Finding",
    "FindingSource",
    "FindingStatus",
    "Outcome",
    "Registration",
    "ServiceIdentity",
    "Signal",
]
