"""What the human-readable reports say about a feature, shared by the HTML and the PDF renderings.

From one feature record (see `records`) it picks the version the report describes (the one in force, or
the latest filed when none is), who approved it and on what terms, the findings still open (or accepted)
about the feature's drift and its current versions (in force and latest filed; older versions' findings
stay in the data files), and the declared-versus-observed matrix of signals × destinations.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from features.choices import FeatureStatus, RegistrationStatus, Tier
from features.models import FindingStatus, Outcome
from governance.policy.severity import Severity

# A cell of the matrix: declared and observed, declared but not observed, observed but not declared.
BOTH, DECLARED_ONLY, OBSERVED_ONLY = "both", "declared", "observed"
CELL_WORDS = {
    BOTH: "declared, observed",
    DECLARED_ONLY: "declared, not observed",
    OBSERVED_ONLY: "observed, NOT declared",
}
SEVERITY_ORDER = {s.value: rank for rank, s in enumerate(reversed(Severity))}


def status_label(status: str) -> str:
    for choices in (FeatureStatus, RegistrationStatus, FindingStatus):
        if status in choices.values:
            return str(choices(status).label)
    return status


def when(moment: str | None, empty: str = "—") -> str:
    """An ISO time from the records, for people: minutes, in UTC (the data files keep the exact time)."""
    if not moment:
        return empty
    parsed = datetime.datetime.fromisoformat(moment).astimezone(datetime.UTC)
    return parsed.strftime("%Y-%m-%d %H:%M UTC")


def tier_label(tier: int | None) -> str:
    return "—" if tier is None else str(Tier(tier).label)


@dataclass(frozen=True)
class Approval:
    reviewer: str
    tier: int | None
    decided_at: str
    conditions: str
    expires_on: str | None


@dataclass(frozen=True)
class Matrix:
    signals: list[str]
    destinations: list[str]
    cells: dict[tuple[str, str], str]

    def cell(self, signal: str, destination: str) -> str | None:
        return self.cells.get((signal, destination))


@dataclass(frozen=True)
class FeatureView:
    key: str
    name: str
    team: str
    status: str
    version: dict | None  # the version described: in force, else the latest filed
    in_force: bool
    requested_tier: int | None
    approved_tier: int | None
    approved_at: str | None
    review_due_on: str | None
    approvals: list[Approval]
    live_findings: list[dict]  # open or accepted, most severe first: drift, and about the current versions
    matrix: Matrix
    versions_filed: int
    retired_at: str | None

    @property
    def explanation(self) -> str:
        return self.version["declaration"]["explanation"] if self.version else ""


def matrix_of(declaration: dict | None, edges: list[dict]) -> Matrix:
    """Signals × destinations: what the version declares flows where, against what was observed."""
    declared = set()
    signals: list[str] = []
    destinations: list[str] = []
    if declaration:
        signals = [row["signal"] for row in declaration["signals"]]
        for destination in declaration["destinations"]:
            destinations.append(destination["name"])
            declared.update((signal, destination["name"]) for signal in destination["signals"])
    observed = {(edge["signal"], edge["destination"]) for edge in edges}
    signals += sorted({signal for signal, _ in observed} - set(signals))
    destinations += sorted({destination for _, destination in observed} - set(destinations))
    cells = {}
    for pair in declared | observed:
        cells[pair] = (
            BOTH if pair in declared and pair in observed else (DECLARED_ONLY if pair in declared else OBSERVED_ONLY)
        )
    return Matrix(signals, destinations, cells)


def feature_view(record: dict) -> FeatureView:
    versions = record["versions"]
    in_force = next((v for v in versions if v["in_force"]), None)
    latest = versions[-1] if versions else None
    described = in_force or latest
    approvals = []
    if in_force:
        approvals = [
            Approval(d["reviewer"], d["tier"], d["decided_at"], d["conditions"], d["expires_on"])
            for d in in_force["decisions"]
            if d["outcome"] == Outcome.APPROVE
        ]
    # Findings about versions that are neither in force nor the latest filed are history: in the data files.
    current_versions = {None} | {v["version"] for v in (in_force, latest) if v}
    live = [
        f
        for f in (*record["findings"], *record["drift_findings"])
        if f["status"] != FindingStatus.RESOLVED and f["version"] in current_versions
    ]
    live.sort(key=lambda f: (SEVERITY_ORDER.get(f["severity"], 9), f["source"], f["rule_id"], f["path"]))
    return FeatureView(
        key=record["key"],
        name=record["name"],
        team=record["team"]["name"],
        status=record["status"],
        version=described,
        in_force=in_force is not None,
        requested_tier=latest["declaration"]["requested_tier"] if latest else None,
        approved_tier=in_force["approved_tier"] if in_force else None,
        approved_at=in_force["approved_at"] if in_force else None,
        review_due_on=in_force["review_due_on"] if in_force else None,
        approvals=approvals,
        live_findings=live,
        matrix=matrix_of(described["declaration"] if described else None, record["observed_edges"]),
        versions_filed=len(versions),
        retired_at=record["retired_at"],
    )


def chart_series(summary: dict) -> list[tuple[str, list[tuple[str, int]]]]:
    """The bar charts of the summary page: (title, [(label, count)])."""
    return [
        (
            "Features by status",
            [(status_label(status), count) for status, count in summary["features_by_status"].items()],
        ),
        ("Features by approved tier", list(summary["features_by_approved_tier"].items())),
        (
            "Open findings by severity",
            [(severity.capitalize(), count) for severity, count in summary["open_findings_by_severity"].items()],
        ),
    ]
