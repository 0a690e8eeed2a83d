"""The CSV tables of a pack: one per entity, rows derived from the feature records (see `records`).

Lists inside a cell (scopes, the signals routed to a destination) are joined with spaces; framework
references with "; ". A text cell that a spreadsheet would run as a formula (starting with = + - @, a tab
or a carriage return) is prefixed with an apostrophe; registry.json keeps the exact text.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str | int | None:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _features(record: dict) -> Iterator[list]:
    yield [
        record["key"],
        record["name"],
        record["team"]["slug"],
        record["status"],
        record["created_at"],
        record["retired_at"],
        record["version_in_force"],
        record["approved_tier"],
        record["review_due_on"],
        len(record["versions"]),
    ]


def _versions(record: dict) -> Iterator[list]:
    for v in record["versions"]:
        d = v["declaration"]
        yield [
            record["key"],
            v["version"],
            v["status"],
            v["in_force"],
            d["explanation"],
            d["purpose"],
            d["requested_tier"],
            d["consent_basis"],
            d["consent_mechanism"],
            d["retention_days"],
            d["opt_out"],
            d["high_trust_domain"],
            d["necessity_justification"],
            v["submitted_by"],
            v["submitted_at"],
            v["approved_tier"],
            v["approved_at"],
            v["review_due_on"],
        ]


def _signals(record: dict) -> Iterator[list]:
    for v in record["versions"]:
        for row in v["declaration"]["signals"]:
            yield [
                record["key"],
                v["version"],
                row["signal"],
                row["origin"],
                row["justification"],
                row["retention_days"],
            ]


def _identities(record: dict) -> Iterator[list]:
    for v in record["versions"]:
        for row in v["declaration"]["identities"]:
            yield [record["key"], v["version"], row["identity"], " ".join(row["scopes"]), row["access"]]


def _destinations(record: dict) -> Iterator[list]:
    for v in record["versions"]:
        for row in v["declaration"]["destinations"]:
            yield [
                record["key"],
                v["version"],
                row["name"],
                row["kind"],
                " ".join(row["signals"]),
                row["controls_before"],
            ]


def _decisions(record: dict) -> Iterator[list]:
    for v in record["versions"]:
        for d in v["decisions"]:
            yield [
                record["key"],
                v["version"],
                d["decided_at"],
                d["reviewer"],
                d["outcome"],
                d["tier"],
                d["conditions"],
                d["expires_on"],
                d["comment"],
            ]


def _key(record: dict) -> str:
    return record.get("key") or record["feature_key"]


def _findings(record: dict) -> Iterator[list]:
    for f in (*record["findings"], *record["drift_findings"]):
        yield [
            _key(record),
            f["version"],
            f["source"],
            f["rule_id"],
            f["severity"],
            f["status"],
            f["message"],
            f["path"],
            "; ".join(f["references"]),
            f["created_at"],
            f["resolved_at"],
            f["accepted_until"],
            f["accepted_reason"],
        ]


def _edges(record: dict) -> Iterator[list]:
    for e in record["observed_edges"]:
        yield [
            _key(record),
            e["service_identity"],
            e["signal"],
            e["destination"],
            e["environment"],
            e["count"],
            e["first_seen"],
            e["last_seen"],
            e["max_credential_ttl_seconds"],
        ]


@dataclass(frozen=True)
class CsvTable:
    name: str
    header: tuple[str, ...]
    rows: Callable[[dict], Iterable[list]]
    unregistered_too: bool = False  # also has rows for keys that are not registered features


TABLES = (
    CsvTable(
        "features.csv",
        (
            "key",
            "name",
            "team",
            "status",
            "created_at",
            "retired_at",
            "version_in_force",
            "approved_tier",
            "review_due_on",
            "versions_filed",
        ),
        _features,
    ),
    CsvTable(
        "versions.csv",
        (
            "feature_key",
            "version",
            "status",
            "in_force",
            "explanation",
            "purpose",
            "requested_tier",
            "consent_basis",
            "consent_mechanism",
            "retention_days",
            "opt_out",
            "high_trust_domain",
            "necessity_justification",
            "submitted_by",
            "submitted_at",
            "approved_tier",
            "approved_at",
            "review_due_on",
        ),
        _versions,
    ),
    CsvTable(
        "declared_signals.csv",
        ("feature_key", "version", "signal", "origin", "justification", "retention_days"),
        _signals,
    ),
    CsvTable(
        "declared_identities.csv",
        ("feature_key", "version", "identity", "scopes", "access"),
        _identities,
    ),
    CsvTable(
        "declared_destinations.csv",
        ("feature_key", "version", "name", "kind", "signals", "controls_before"),
        _destinations,
    ),
    CsvTable(
        "decisions.csv",
        ("feature_key", "version", "decided_at", "reviewer", "outcome", "tier", "conditions", "expires_on", "comment"),
        _decisions,
    ),
    CsvTable(
        "findings.csv",
        (
            "feature_key",
            "version",
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
        ),
        _findings,
        unregistered_too=True,
    ),
    CsvTable(
        "observed_edges.csv",
        (
            "feature_key",
            "service_identity",
            "signal",
            "destination",
            "environment",
            "count",
            "first_seen",
            "last_seen",
            "max_credential_ttl_seconds",
        ),
        _edges,
        unregistered_too=True,
    ),
)


class _TextSink:
    """What `csv.writer` needs: a `write(str)`, here passed on as UTF-8 bytes."""

    def __init__(self, write: Callable[[bytes], object]):
        self._write = write

    def write(self, text: str) -> None:
        self._write(text.encode("utf-8"))


def write_table(
    table: CsvTable, write: Callable[[bytes], object], features: Iterable[dict], unregistered: Iterable[dict]
) -> None:
    """Write one table (header, then a row per entity) through `write`, record by record."""
    writer = csv.writer(_TextSink(write), lineterminator="\r\n")
    writer.writerow(table.header)
    for record in features:
        writer.writerows([_cell(value) for value in row] for row in table.rows(record))
    if table.unregistered_too:
        for record in unregistered:
            writer.writerows([_cell(value) for value in row] for row in table.rows(record))
