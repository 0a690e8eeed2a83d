"""Reads for the evidence pages: the packs a person may see, and what they may export."""

from __future__ import annotations

from django.db.models import QuerySet

from features.models import Feature
from governance.accounts.models import Team
from governance.evidence.models import EvidencePack
from governance.evidence.services import can_export_evidence


def packs_visible_to(user) -> QuerySet[EvidencePack]:
    """Every pack, newest first, for those who export; nothing for anyone else."""
    packs = EvidencePack.objects.select_related("requested_by").order_by("-requested_at", "-pk")
    return packs if can_export_evidence(user) else packs.none()


def exportable_teams() -> list[tuple[str, str]]:
    return list(Team.objects.order_by("name").values_list("slug", "name"))


def exportable_feature_keys() -> list[str]:
    return list(Feature.objects.order_by("key").values_list("key", flat=True))
