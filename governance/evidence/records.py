"""What a pack says about each feature, read from the database a chunk of features at a time.

`feature_records` yields one plain dict per feature in scope (its filed versions with their declarations
and decisions, its findings, its drift and its observed data paths), as the registry stood at `as_of`.
Those dicts are the single source of every file in a pack: registry.json holds them verbatim, and the
tables, reports and OSCAL document are rendered from them. Each chunk costs a fixed dozen queries whatever
its size, and only one chunk is in memory at a time.

Drafts are never read: a version exists for a pack from the moment it was submitted, and a feature from
its first filed version. Keys that were observed or found by drift but are not registered features in
scope (shadow features, features with nothing filed yet) come from `unregistered_records`.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, Max, OuterRef, Q, QuerySet, Sum

from features.choices import FeatureStatus, Tier
from features.models import (
    Decision,
    DeclaredDestination,
    DeclaredIdentity,
    DeclaredSignal,
    Feature,
    Finding,
    FindingSource,
    FindingStatus,
    Outcome,
    Registration,
)
from governance.audit.models import AuditEvent
from governance.drift.models import ObservedDay, ObservedEdge
from governance.evidence import asof
from governance.policy.severity import Severity

CHUNK_SIZE = 200
ID_BATCH = 500  # ids per IN (…) list: well inside SQLite's parameter limit


def iso(value: datetime.datetime | datetime.date | None) -> str | None:
    """Times in UTC, ISO 8601 with offset (what OSCAL and JSON Schema's date-time expect); dates as dates."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat()
    return value.isoformat()


def _batches(values: list, size: int = ID_BATCH) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- scope ------------------------------------------------------------------------------------------------


def _filed_by(as_of: datetime.datetime | None) -> Q:
    condition = Q(submitted_at__isnull=False)
    return condition & Q(submitted_at__lte=as_of) if as_of is not None else condition


def features_in_scope(scope, as_of: datetime.datetime | None) -> QuerySet[Feature]:
    """Features of the scope that had at least one filed version by `as_of`."""
    features = Feature.objects.all()
    if scope.kind == "team":
        features = features.filter(team__slug=scope.key)
    elif scope.kind == "feature":
        features = features.filter(key=scope.key)
    if as_of is not None:
        features = features.filter(created_at__lte=as_of)
    filed = Registration.objects.filter(_filed_by(as_of), feature=OuterRef("pk"))
    return features.filter(Exists(filed))


def unregistered_keys(scope, as_of: datetime.datetime | None) -> list[str]:
    """Keys observed or named by a finding by `as_of` that are not registered features in scope then:
    for the registry, every such key; for a team or a feature, its own features with nothing filed yet."""
    registered = set(features_in_scope(scope, as_of).values_list("key", flat=True))
    edges = ObservedEdge.objects.all()
    findings = Finding.objects.all()
    if as_of is not None:
        edges, findings = edges.filter(first_seen__lte=as_of), findings.filter(created_at__lte=as_of)
    if scope.kind == "registry":
        candidates = set(edges.values_list("feature_key", flat=True).distinct())
        candidates |= set(findings.filter(feature__isnull=True).values_list("feature_key", flat=True).distinct())
    else:
        own = Feature.objects.filter(**({"team__slug": scope.key} if scope.kind == "team" else {"key": scope.key}))
        own_keys = set(own.values_list("key", flat=True)) - registered
        candidates = set(edges.filter(feature_key__in=own_keys).values_list("feature_key", flat=True).distinct())
        candidates |= set(findings.filter(feature_key__in=own_keys).values_list("feature_key", flat=True).distinct())
    return sorted(candidates - registered)


# --- the summary ------------------------------------------------------------------------------------------


@dataclass
class Summary:
    """Counts over the records of a pack, gathered as they stream past (for the reports' first page)."""

    features: int = 0
    versions: int = 0
    decisions: int = 0
    findings: int = 0
    observed_edges: int = 0
    unregistered_keys: int = 0
    features_by_status: Counter = field(default_factory=Counter)
    features_by_tier: Counter = field(default_factory=Counter)
    open_findings_by_severity: Counter = field(default_factory=Counter)
    open_drift_by_severity: Counter = field(default_factory=Counter)
    accepted_findings: int = 0

    def _count_findings(self, record: dict) -> None:
        for finding in (*record["findings"], *record["drift_findings"]):
            self.findings += 1
            if finding["status"] == FindingStatus.OPEN:
                self.open_findings_by_severity[finding["severity"]] += 1
                if finding["source"] == FindingSource.DRIFT:
                    self.open_drift_by_severity[finding["severity"]] += 1
            elif finding["status"] == FindingStatus.ACCEPTED:
                self.accepted_findings += 1
        self.observed_edges += len(record["observed_edges"])

    def add_feature(self, record: dict) -> None:
        self.features += 1
        self.versions += len(record["versions"])
        self.decisions += sum(len(version["decisions"]) for version in record["versions"])
        self.features_by_status[record["status"]] += 1
        tier = record["approved_tier"]
        self.features_by_tier["none approved" if tier is None else f"tier {tier}"] += 1
        self._count_findings(record)

    def add_unregistered(self, record: dict) -> None:
        self.unregistered_keys += 1
        self._count_findings(record)

    def as_dict(self) -> dict[str, Any]:
        severities = [s.value for s in reversed(Severity)]
        return {
            "features": self.features,
            "versions": self.versions,
            "decisions": self.decisions,
            "findings": self.findings,
            "accepted_findings": self.accepted_findings,
            "observed_edges": self.observed_edges,
            "unregistered_keys": self.unregistered_keys,
            "features_by_status": {s.value: self.features_by_status[s.value] for s in FeatureStatus},
            "features_by_approved_tier": {
                **{f"tier {t}": self.features_by_tier[f"tier {t}"] for t in Tier.values},
                "none approved": self.features_by_tier["none approved"],
            },
            "open_findings_by_severity": {s: self.open_findings_by_severity[s] for s in severities},
            "open_drift_by_severity": {s: self.open_drift_by_severity[s] for s in severities},
        }


# --- reading one chunk ------------------------------------------------------------------------------------

_VERSION_FIELDS = (
    "pk",
    "feature_id",
    "version",
    "status",
    "explanation",
    "purpose",
    "requested_tier",
    "consent_basis",
    "consent_mechanism",
    "retention_days",
    "opt_out",
    "high_trust_domain",
    "necessity_justification",
    "submitted_by__username",
    "submitted_at",
    "approved_tier",
    "approved_at",
    "review_due_on",
)
_FINDING_FIELDS = (
    "pk",
    "feature_id",
    "feature_key",
    "registration_id",
    "source",
    "rule_id",
    "severity",
    "status",
    "message",
    "path",
    "references",
    "created_at",
    "resolved_at",
    "accepted_until",
    "accepted_reason",
)
_DECISION_FIELDS = (
    "registration_id",
    "reviewer__username",
    "outcome",
    "tier",
    "conditions",
    "expires_on",
    "comment",
    "decided_at",
)
_EDGE_FIELDS = (
    "pk",
    "feature_key",
    "service_identity",
    "signal",
    "destination",
    "environment",
    "count",
    "first_seen",
    "last_seen",
    "max_credential_ttl_seconds",
)


_DECLARATION_FIELDS = (
    "explanation",
    "purpose",
    "requested_tier",
    "consent_basis",
    "consent_mechanism",
    "retention_days",
    "opt_out",
    "high_trust_domain",
    "necessity_justification",
)


def _declarations(registration_rows: list[dict]) -> dict[int, dict]:
    """The declaration each version makes, in the declaration file's shape (`Declaration.as_dict()`),
    read with four queries for the whole chunk."""
    ids = [row["pk"] for row in registration_rows]
    signals, identities, destinations = defaultdict(list), defaultdict(list), defaultdict(list)
    flows: dict[int, list[str]] = defaultdict(list)
    for batch in _batches(ids):
        for reg, key, origin, why, days in (
            DeclaredSignal.objects.filter(registration_id__in=batch)
            .order_by("registration_id", "position", "id")
            .values_list("registration_id", "signal__key", "origin", "justification", "retention_days")
        ):
            signals[reg].append({"signal": key, "origin": origin, "justification": why, "retention_days": days})
        for reg, name, scopes, access in (
            DeclaredIdentity.objects.filter(registration_id__in=batch)
            .order_by("registration_id", "position", "id")
            .values_list("registration_id", "identity__name", "scopes", "access")
        ):
            identities[reg].append({"identity": name, "scopes": list(scopes or ()), "access": access})
        rows = list(
            DeclaredDestination.objects.filter(registration_id__in=batch)
            .order_by("registration_id", "position", "id")
            .values_list("pk", "registration_id", "name", "kind", "controls_before")
        )
        Flow = DeclaredDestination.signals.through
        for destination_batch in _batches([row[0] for row in rows]):
            for destination_id, key in Flow.objects.filter(declareddestination_id__in=destination_batch).values_list(
                "declareddestination_id", "signal__key"
            ):
                flows[destination_id].append(key)
        for pk, reg, name, kind, controls in rows:
            # As `DestinationDeclaration` does: the routed signals in one canonical order.
            routed = sorted(set(flows.pop(pk, ())))
            destinations[reg].append({"name": name, "kind": kind, "signals": routed, "controls_before": controls})
    return {
        row["pk"]: {
            **{name: row[name] for name in _DECLARATION_FIELDS},
            "signals": signals[row["pk"]],
            "identities": identities[row["pk"]],
            "destinations": destinations[row["pk"]],
        }
        for row in registration_rows
    }


def _events(action: Iterable[str], object_type: str, object_ids: Iterable, as_of) -> list[tuple]:
    """(object_id, action, occurred_at, payload) of these audit events, oldest first."""
    ids = [str(pk) for pk in object_ids]
    found = []
    for batch in _batches(ids):
        events = AuditEvent.objects.filter(action__in=list(action), object_type=object_type, object_id__in=batch)
        if as_of is not None:
            events = events.filter(occurred_at__lte=as_of)
        found += events.order_by("sequence").values_list("object_id", "action", "occurred_at", "payload")
    return found


def _finding_events(rows: list[dict], registration_ids: list[int], feature_ids: list[int], as_of) -> dict[int, list]:
    """What happened to each finding, as `asof.FindingEvent`s (only needed for a past moment)."""
    timeline: dict[int, list[asof.FindingEvent]] = defaultdict(list)
    if as_of is None:
        return timeline
    for row in rows:
        if row["resolved_at"] is not None:
            timeline[row["pk"]].append(asof.FindingEvent(row["resolved_at"], asof.RESOLVED))
    for object_id, action, at, payload in _events(
        ("finding.accepted", "finding.acceptance_lapsed"), "features.finding", [row["pk"] for row in rows], as_of
    ):
        if action == "finding.accepted":
            until = payload.get("until")
            event = asof.FindingEvent(
                at, asof.ACCEPTED, datetime.date.fromisoformat(until) if until else None, payload.get("reason", "")
            )
        else:
            event = asof.FindingEvent(at, asof.LAPSED)
        timeline[int(object_id)].append(event)

    # Resolutions and reopenings the row no longer remembers (a reopened finding forgets its resolved_at).
    by_subject: dict[tuple, list[int]] = defaultdict(list)
    for row in rows:
        subject = row["registration_id"] if row["source"] == FindingSource.POLICY else row["feature_key"]
        by_subject[(row["source"], subject, row["rule_id"], row["path"])].append(row["pk"])

    def replay(source, subject, kind, at, rule_id, path):
        for pk in by_subject.get((source, subject, rule_id, path), ()):
            timeline[pk].append(asof.FindingEvent(at, kind))

    drift_actions = ("drift.opened", "drift.resolved")
    drift_events = _events(drift_actions, "features.feature", feature_ids, as_of)
    shadow_keys = sorted({row["feature_key"] for row in rows if row["feature_id"] is None})
    for batch in _batches(shadow_keys):  # drift about an unregistered key points at no object
        drift_events += AuditEvent.objects.filter(
            action__in=drift_actions, object_type="", occurred_at__lte=as_of, payload__feature__in=batch
        ).values_list("object_id", "action", "occurred_at", "payload")
    for _, action, at, payload in drift_events:
        kind = asof.OPENED if action == "drift.opened" else asof.RESOLVED
        for item in payload.get("findings", []):
            replay(FindingSource.DRIFT, payload.get("feature"), kind, at, item.get("rule_id"), item.get("path"))
    for object_id, _, at, payload in _events(
        ("registration.reevaluated",), "features.registration", registration_ids, as_of
    ):
        for kind, subjects in ((asof.OPENED, payload.get("opened", [])), (asof.RESOLVED, payload.get("resolved", []))):
            for subject in subjects:
                rule_id, _, path = subject.partition(":")
                replay(FindingSource.POLICY, int(object_id), kind, at, rule_id, path)
    return timeline


def _finding_record(row: dict, versions: dict[int, int], timeline: list, as_of) -> dict:
    current = asof.FindingState(row["status"], row["accepted_until"], row["accepted_reason"], row["resolved_at"])
    state = asof.finding_state(current=current, created_at=row["created_at"], events=timeline, as_of=as_of)
    return {
        "rule_id": row["rule_id"],
        "source": row["source"],
        "severity": row["severity"],
        "status": state.status,
        "message": row["message"],
        "path": row["path"],
        "references": [str(reference) for reference in row["references"] or []],
        "version": versions.get(row["registration_id"]),
        "created_at": iso(row["created_at"]),
        "resolved_at": iso(state.resolved_at) if state.status == FindingStatus.RESOLVED else None,
        "accepted_until": iso(state.accepted_until) if state.status == FindingStatus.ACCEPTED else None,
        "accepted_reason": state.accepted_reason if state.status == FindingStatus.ACCEPTED else "",
    }


def _findings(keys: list[str], feature_ids: list[int], filed_versions: dict[int, int], as_of) -> list[dict]:
    """Finding rows of these features (or keys), created by `as_of`, about no draft."""
    condition = Q(feature_key__in=keys)
    if feature_ids:
        condition |= Q(feature_id__in=feature_ids)
    findings = Finding.objects.filter(condition)
    if as_of is not None:
        findings = findings.filter(created_at__lte=as_of)
    rows = list(findings.order_by("pk").values(*_FINDING_FIELDS))
    # A finding about a version that was not filed by then (a draft) is not part of the record.
    return [row for row in rows if row["registration_id"] is None or row["registration_id"] in filed_versions]


def _edges(keys: list[str], as_of) -> list[dict]:
    """Observed edges of these keys first seen by `as_of`, with their totals as of then."""
    edges = ObservedEdge.objects.filter(feature_key__in=keys)
    if as_of is not None:
        edges = edges.filter(first_seen__lte=as_of)
    rows = list(
        edges.order_by("feature_key", "signal", "destination", "service_identity", "environment").values(*_EDGE_FIELDS)
    )
    later = [row["pk"] for row in rows if as_of is not None and row["last_seen"] > as_of]
    days: dict[int, tuple] = {}
    for batch in _batches(later):
        for edge_id, total, last_day in (
            ObservedDay.objects.filter(edge_id__in=batch, day__lte=as_of.date())
            .values("edge_id")
            .annotate(total=Sum("count"), last_day=Max("day"))
            .values_list("edge_id", "total", "last_day")
        ):
            days[edge_id] = (last_day, total)
    records = []
    for row in rows:
        totals = asof.edge_totals(
            count=row["count"],
            first_seen=row["first_seen"],
            last_seen=row["last_seen"],
            days=[days[row["pk"]]] if row["pk"] in days else [],
            as_of=as_of,
        )
        records.append(
            {
                "feature_key": row["feature_key"],
                "service_identity": row["service_identity"],
                "signal": row["signal"],
                "destination": row["destination"],
                "environment": row["environment"],
                "count": totals.count,
                "first_seen": iso(row["first_seen"]),
                "last_seen": iso(totals.last_seen),
                "max_credential_ttl_seconds": row["max_credential_ttl_seconds"],
            }
        )
    return records


def _split_findings(findings: list[dict]) -> tuple[list[dict], list[dict]]:
    drift = [f for f in findings if f["source"] == FindingSource.DRIFT]
    return [f for f in findings if f["source"] != FindingSource.DRIFT], drift


def _chunk(features: list[dict], as_of) -> Iterator[dict]:
    """The records of one chunk of features, in the chunk's order."""
    feature_ids = [row["pk"] for row in features]
    keys = [row["key"] for row in features]
    registrations = list(
        Registration.objects.filter(_filed_by(as_of), feature_id__in=feature_ids)
        .order_by("feature_id", "version")
        .values(*_VERSION_FIELDS)
    )
    registration_ids = [row["pk"] for row in registrations]
    declarations = _declarations(registrations)
    decisions = defaultdict(list)
    for batch in _batches(registration_ids):
        rows = Decision.objects.filter(registration_id__in=batch)
        if as_of is not None:
            rows = rows.filter(decided_at__lte=as_of)
        for row in rows.order_by("decided_at", "pk").values(*_DECISION_FIELDS):
            decisions[row["registration_id"]].append(row)
    retirements = _events(("feature.retired",), "features.feature", feature_ids, as_of)
    retired = {int(object_id): at for object_id, _, at, _ in retirements}
    filed_versions = {row["pk"]: row["version"] for row in registrations}
    finding_rows = _findings(keys, feature_ids, filed_versions, as_of)
    timeline = _finding_events(finding_rows, registration_ids, feature_ids, as_of)
    findings_by_feature = defaultdict(list)
    key_to_id = dict(zip(keys, feature_ids, strict=True))
    in_chunk = set(feature_ids)
    for row in finding_rows:
        owner = row["feature_id"] if row["feature_id"] in in_chunk else key_to_id.get(row["feature_key"])
        findings_by_feature[owner].append(_finding_record(row, filed_versions, timeline[row["pk"]], as_of))
    edges_by_key = defaultdict(list)
    for edge in _edges(keys, as_of):
        edges_by_key[edge.pop("feature_key")].append(edge)
    versions_by_feature = defaultdict(list)
    for row in registrations:
        versions_by_feature[row["feature_id"]].append(row)

    for feature in features:
        rows = versions_by_feature[feature["pk"]]
        times = [
            asof.VersionTimes(
                version=row["version"],
                status=row["status"],
                submitted_at=row["submitted_at"],
                approved_at=row["approved_at"],
                refusal=next(
                    ((d["outcome"], d["decided_at"]) for d in decisions[row["pk"]] if d["outcome"] != Outcome.APPROVE),
                    None,
                ),
            )
            for row in rows
        ]
        in_force = asof.version_in_force(times, as_of)
        versions = []
        for row, version_times in zip(rows, times, strict=True):
            status = asof.version_status(version_times, times, as_of)
            approved = asof.happened(row["approved_at"], as_of)
            versions.append(
                {
                    "version": row["version"],
                    "status": status,
                    "in_force": row["version"] == in_force,
                    "submitted_by": row["submitted_by__username"],
                    "submitted_at": iso(row["submitted_at"]),
                    "approved_tier": row["approved_tier"] if approved else None,
                    "approved_at": iso(row["approved_at"]) if approved else None,
                    "review_due_on": iso(row["review_due_on"]) if approved else None,
                    "declaration": declarations[row["pk"]],
                    "decisions": [
                        {
                            "reviewer": d["reviewer__username"],
                            "outcome": d["outcome"],
                            "tier": d["tier"],
                            "conditions": d["conditions"],
                            "expires_on": iso(d["expires_on"]),
                            "comment": d["comment"],
                            "decided_at": iso(d["decided_at"]),
                        }
                        for d in decisions[row["pk"]]
                    ],
                }
            )
        retired_at = retired.get(feature["pk"])
        status = asof.feature_status(
            current=feature["status"],
            latest_filed_status=versions[-1]["status"] if versions else None,
            retired_at=retired_at,
            as_of=as_of,
        )
        force = next((v for v in versions if v["in_force"]), None)
        findings, drift = _split_findings(findings_by_feature[feature["pk"]])
        yield {
            "key": feature["key"],
            "name": feature["name"],
            "team": {"slug": feature["team__slug"], "name": feature["team__name"]},
            "status": status,
            "created_at": iso(feature["created_at"]),
            "retired_at": iso(retired_at) if status == FeatureStatus.RETIRED and retired_at else None,
            "version_in_force": in_force,
            "approved_tier": force["approved_tier"] if force else None,
            "review_due_on": force["review_due_on"] if force else None,
            "versions": versions,
            "findings": findings,
            "drift_findings": drift,
            "observed_edges": edges_by_key[feature["key"]],
        }


_FEATURE_FIELDS = ("pk", "key", "name", "status", "created_at", "team__slug", "team__name")


def feature_records(scope, as_of: datetime.datetime | None, *, chunk_size: int | None = None) -> Iterator[dict]:
    """One record per feature in scope, ordered by key, read `chunk_size` (CHUNK_SIZE) features at a time."""
    chunk_size = chunk_size or CHUNK_SIZE
    features = features_in_scope(scope, as_of).order_by("key")
    last_key = None
    while True:
        page = features if last_key is None else features.filter(key__gt=last_key)
        chunk = list(page.values(*_FEATURE_FIELDS)[:chunk_size])
        if not chunk:
            return
        yield from _chunk(chunk, as_of)
        last_key = chunk[-1]["key"]


def unregistered_records(keys: list[str], as_of: datetime.datetime | None, *, chunk_size: int | None = None):
    """One record per unregistered key (a shadow feature, or one with nothing filed): its drift and paths."""
    chunk_size = chunk_size or CHUNK_SIZE
    for start in range(0, len(keys), chunk_size):
        chunk = keys[start : start + chunk_size]
        finding_rows = _findings(chunk, [], {}, as_of)
        timeline = _finding_events(finding_rows, [], [r["feature_id"] for r in finding_rows if r["feature_id"]], as_of)
        by_key = defaultdict(list)
        for row in finding_rows:
            by_key[row["feature_key"]].append(_finding_record(row, {}, timeline[row["pk"]], as_of))
        edges_by_key = defaultdict(list)
        for edge in _edges(chunk, as_of):
            edges_by_key[edge.pop("feature_key")].append(edge)
        for key in chunk:
            findings, drift = _split_findings(by_key[key])
            yield {
                "feature_key": key,
                "findings": findings,
                "drift_findings": drift,
                "observed_edges": edges_by_key[key],
            }
