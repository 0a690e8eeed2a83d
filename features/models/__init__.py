from features.models.catalogue import ServiceIdentity, Signal
from features.models.registry import (
    DeclaredDestination,
    DeclaredIdentity,
    DeclaredSignal,
    Feature,
    Registration,
)

__all__ = [
    "DeclaredDestination",
    "DeclaredIdentity",
    "DeclaredSignal",
    "Feature",
    "Registration",
    "ServiceIdentity",
    "Signal",
]
