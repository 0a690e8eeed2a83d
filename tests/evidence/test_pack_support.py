"""Helpers for the evidence-pack tests (no tests here): a registry with a history, and building packs.

`registry_with_history` files, approves, re-files, observes and retires through the domain functions
while the clock (`django.utils.timezone.now`) is moved, so rows and audit events carry the same times.
"""

from __future__ import annotations

import datetime
import io
import json
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from unittest.mock import patch

from features.declaration import DestinationDeclaration, SignalDeclaration
from features.models import Feature, Finding, Outcome
from features.services import feature_create, feature_retire, registration_save_draft, registration_submit
from governance.drift.evaluate import evaluate_drift
from governance.drift.models import ObservedDay, ObservedEdge
from governance.evidence.pack import PackScope, build_pack
from governance.reviews.services import finding_accept, review_decide
from tests.factories import SignalFactory, catalogue_for, complete_declaration

UTC = datetime.UTC
FILED_V1 = datetime.datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
APPROVED_V1 = datetime.datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
ACCEPTED = datetime.datetime(2026, 1, 20, 9, 0, tzinfo=UTC)
ACCEPTED_UNTIL = datetime.date(2026, 1, 30)
EARLIER = datetime.datetime(2026, 1, 31, 23, 59, tzinfo=UTC)  # the as-of moment of the tests
FILED_V2 = datetime.datetime(2026, 2, 14, 9, 0, tzinfo=UTC)
APPROVED_V2 = datetime.datetime(2026, 2, 15, 9, 0, tzinfo=UTC)
DRAFTED_V3 = datetime.datetime(2026, 2, 20, 9, 0, tzinfo=UTC)
RETIRED = datetime.datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NOW = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

DRAFT_ONLY_TEXT = "We would suggest recipes from your fridge."
DRAFT_V3_TEXT = "We order products by the language and the weather where you are."
LANGUAGE = SignalDeclaration("language", "collected", "To pick the catalogue language.", 30)
LOCALE = SignalDeclaration("locale", "collected", "To pick the language.", 30)


@contextmanager
def clock(moment: datetime.datetime):
    """Everything done inside happens at `moment`: row timestamps, audit events, "today"."""
    with patch("django.utils.timezone.now", return_value=moment):
        yield


def use_temporary_signing_key(settings, tmp_path) -> None:
    settings.EVIDENCE_SIGNING_KEY_FILE = str(tmp_path / "keys" / "evidence-signing-key.pem")


def observe(key: str, signal: str, moment: datetime.datetime, count: int = 5) -> None:
    """Fold one day's observations of `signal` → reco-ranker into the edge, as ingestion would."""
    edge, _ = ObservedEdge.objects.get_or_create(
        feature_key=key,
        service_identity="reco-reader",
        signal=signal,
        destination="reco-ranker",
        environment="production",
        defaults={"first_seen": moment, "last_seen": moment},
    )
    edge.count += count
    edge.last_seen = moment
    edge.save()
    ObservedDay.objects.create(edge=edge, day=moment.date(), count=count)


@dataclass(frozen=True)
class History:
    feature: Feature
    draft_only: Feature


def registry_with_history(owner, reviewer, team) -> History:
    """reco-locale: v1 (locale) filed 5 Jan, approved 10 Jan; `language` observed undeclared from 10 Jan
    (a drift finding opens; a reviewer accepts it on 20 Jan until 30 Jan); v2 (locale + language) filed
    14 Feb, approved 15 Feb (the finding resolves); a v3 draft saved 20 Feb; retired 1 Mar.
    reco-fridge: a draft, never filed."""
    v1 = complete_declaration()
    catalogue_for(v1)
    SignalFactory(key="language")
    with clock(FILED_V1):
        feature = feature_create(actor=owner, key="reco-locale", name="Locale ranking", team=team, declaration=v1)
        registration = registration_submit(actor=owner, feature=feature)
        draft_only = feature_create(
            actor=owner,
            key="reco-fridge",
            name="Fridge recipes",
            team=team,
            declaration=complete_declaration(explanation=DRAFT_ONLY_TEXT),
        )
    with clock(APPROVED_V1):
        review_decide(
            actor=reviewer, registration=registration, outcome=Outcome.APPROVE, tier=1, conditions="Locale only."
        )
        observe("reco-locale", "locale", APPROVED_V1)
        observe("reco-locale", "language", APPROVED_V1)
        evaluate_drift(["reco-locale"], now=APPROVED_V1)
    with clock(ACCEPTED):
        finding_accept(
            actor=reviewer,
            finding=Finding.objects.get(rule_id="undeclared-signal"),
            reason="Language rollout is under review.",
            until=ACCEPTED_UNTIL,
        )
    v2 = complete_declaration(
        signals=(LOCALE, LANGUAGE),
        destinations=(DestinationDeclaration("reco-ranker", "ranking", ("locale", "language"), True),),
    )
    with clock(FILED_V2):
        registration = registration_submit(actor=owner, feature=feature, declaration=v2)
    with clock(APPROVED_V2):
        review_decide(actor=reviewer, registration=registration, outcome=Outcome.APPROVE, tier=1)
        observe("reco-locale", "locale", APPROVED_V2)
        observe("reco-locale", "language", APPROVED_V2)
        evaluate_drift(["reco-locale"], now=APPROVED_V2)
    with clock(DRAFTED_V3):
        registration_save_draft(
            actor=owner, feature=feature, declaration=complete_declaration(explanation=DRAFT_V3_TEXT)
        )
    with clock(RETIRED):
        feature_retire(actor=owner, feature=feature)
    return History(feature=Feature.objects.get(pk=feature.pk), draft_only=draft_only)


@dataclass
class BuiltPack:
    data: bytes
    summary: object

    def archive(self) -> zipfile.ZipFile:
        return zipfile.ZipFile(io.BytesIO(self.data))

    def read(self, name: str) -> bytes:
        with self.archive() as archive:
            return archive.read(name)

    def json(self, name: str = "registry.json") -> dict:
        return json.loads(self.read(name))

    def names(self) -> list[str]:
        with self.archive() as archive:
            return archive.namelist()

    def feature(self, key: str) -> dict:
        return next(f for f in self.json()["features"] if f["key"] == key)


def build(scope: PackScope | None = None, *, as_of=None, now=NOW, progress=None) -> BuiltPack:
    destination = io.BytesIO()
    with clock(now):
        summary = build_pack(
            scope=scope or PackScope("registry"), as_of=as_of, destination=destination, progress=progress, now=now
        )
    return BuiltPack(destination.getvalue(), summary)


def rewrite_member(data: bytes, name: str, change) -> bytes:
    """The same ZIP with member `name` replaced by `change(its bytes)`."""
    source, target = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in source.infolist():
            content = source.read(info.filename)
            copy.writestr(info, change(content) if info.filename == name else content)
    return target.getvalue()


def flip_one_byte(content: bytes) -> bytes:
    """Change one byte in the middle of `content`."""
    middle = len(content) // 2
    return content[:middle] + bytes([content[middle] ^ 0x01]) + content[middle + 1 :]


@dataclass(frozen=True)
class SharedPack:
    data: bytes
    public_key_pem: bytes


def build_shared_pack(django_db_blocker, key_dir) -> SharedPack:
    """The history's registry pack, built once for a module's tests (its rows are rolled back after)."""
    from django.db import transaction
    from django.test import override_settings

    from governance.accounts.models import Role
    from governance.evidence.signing import public_key_pem
    from tests.factories import TeamFactory, UserFactory

    key_file = str(key_dir / "evidence-signing-key.pem")
    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_db_blocker.unblock(), override_settings(EVIDENCE_SIGNING_KEY_FILE=key_file, PASSWORD_HASHERS=hashers):
        with transaction.atomic():
            team = TeamFactory(slug="recommendations", name="Recommendations")
            owner = UserFactory(username="owner", role=Role.OWNER, teams=[team])
            reviewer = UserFactory(username="reviewer", role=Role.REVIEWER)
            registry_with_history(owner, reviewer, team)
            pack = build()
            transaction.set_rollback(True)
        return SharedPack(pack.data, public_key_pem())
