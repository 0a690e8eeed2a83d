"""The demo's runtime telemetry: thirty days of what the demo features' services were observed doing,
sent through the real ingestion (`ingest_observations`, with a telemetry shipper's token) and judged by a
drift sweep, so the Drift pages have a story to tell from the first login.

What runs mostly matches what was declared. The drift, each a finding after loading:
- product-recommendations already uses the cart, as its version 2 (in review) declares but approved
  version 1 does not: an undeclared signal, which an approval of version 2 resolves; and its purchase
  history also reaches an analytics warehouse that no version declares;
- nearby-store-picks' feature-store account presents credentials that live 180 days (90 allowed);
- seasonal-banner was retired, yet its service still reports: a shadow feature;
- home-hero-experiment was never registered, and borrows the recommender's identity: a shadow feature,
  and an identity shared across features.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass

from django.utils import timezone

from governance.accounts.models import TokenScope, User
from governance.accounts.tokens import token_issue
from governance.drift.evaluate import drift_sweep
from governance.drift.ingest import ingest_observations

DAYS = 30
SHIPPER = "demo-otel-collector"


@dataclass(frozen=True)
class DemoPath:
    """One observed path, reported daily from `since` days ago until `until` days ago, ~`per_day` times."""

    feature: str
    identity: str
    signal: str
    destination: str
    per_day: int
    since: int = DAYS - 1
    until: int = 0
    environment: str = "production"
    credential_ttl_days: int | None = None


def _paths(
    feature: str, identity: str, signals: tuple[str, ...], destination: str, per_day: int, **options
) -> list[DemoPath]:
    return [DemoPath(feature, identity, signal, destination, per_day, **options) for signal in signals]


PATHS: tuple[DemoPath, ...] = (
    # Localised search does exactly what it declared, and logs which signals shaped each response.
    *_paths("localised-search", "search-ranker-sa", ("locale", "device_class"), "search-ranker", 1_200,
            credential_ttl_days=7),
    *_paths("localised-search", "search-ranker-sa", ("locale", "device_class"), "response", 700),
    *_paths("localised-search", "search-ranker-sa", ("locale",), "search-ranker", 90, environment="staging"),
    # Recommended for you: version 1's paths, plus the cart for four days before version 2 is approved.
    *_paths("product-recommendations", "reco-profile-reader", ("browsing_history", "purchase_history", "locale"),
            "reco-ranker", 2_400, credential_ttl_days=1),
    *_paths("product-recommendations", "reco-profile-reader", ("browsing_history", "purchase_history"),
            "response", 1_500),
    *_paths("product-recommendations", "reco-profile-reader", ("cart_contents",), "reco-ranker", 800, since=3),
    *_paths("product-recommendations", "reco-profile-reader", ("purchase_history",), "analytics-warehouse", 300,
            since=12),
    # In stock near you: declared paths, through an account whose credentials outlive the policy.
    *_paths("nearby-store-picks", "reco-feature-store-sa", ("precise_location", "locale"), "store-picks", 350,
            since=20, credential_ttl_days=180),
    *_paths("nearby-store-picks", "reco-feature-store-sa", ("precise_location",), "response", 200, since=20),
    # Retired on paper; its service never stopped reporting.
    *_paths("seasonal-banner", "geo-context-reader", ("coarse_region", "time_of_day"), "home-banner", 500),
    # Never registered, started a week ago with the recommender's identity.
    *_paths("home-hero-experiment", "reco-profile-reader", ("browsing_history",), "hero-banner", 650, since=6),
)  # fmt: skip


def demo_observations(now: datetime.datetime) -> list[dict]:
    """Each path's daily observations (one item per path and day, with its count), as a shipper sends
    them; counts vary from day to day, and dip at weekends, the same way on every load."""
    rng = random.Random(20261208)  # noqa: S311 (demo figures, not a secret)
    items = []
    for path in PATHS:
        for days_ago in range(path.since, path.until - 1, -1):
            moment = now - datetime.timedelta(days=days_ago, hours=1)
            weekend = 0.6 if moment.weekday() >= 5 else 1.0
            item = {
                "feature": path.feature,
                "service_identity": path.identity,
                "signal": path.signal,
                "destination": path.destination,
                "environment": path.environment,
                "observed_at": moment.isoformat(),
                "count": max(1, round(path.per_day * weekend * rng.uniform(0.8, 1.2))),
            }
            if path.credential_ttl_days is not None:
                item["credential_ttl_seconds"] = path.credential_ttl_days * 86_400
            items.append(item)
    return items


def load_demo_telemetry(administrator: User) -> int:
    """Ingest the demo's observations as its telemetry shipper would, then sweep drift over them; returns
    how many observations were accepted."""
    shipper = token_issue(
        actor=administrator, name=SHIPPER, scopes=[TokenScope.OBSERVATIONS_WRITE], teams=[], expires_in_days=90
    )
    outcome = ingest_observations(
        demo_observations(timezone.now()), token=shipper.token, idempotency_key=None, body_sha256=""
    )
    if outcome.status_code != 200 or outcome.body["rejected"]:
        raise RuntimeError(f"The demo's telemetry was refused: {outcome.body}")
    drift_sweep()
    return outcome.body["accepted"]
