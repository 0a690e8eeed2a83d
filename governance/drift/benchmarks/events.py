"""Synthetic telemetry for the ingestion benchmark: skewed like real traffic, deterministic by seed.

A few thousand distinct edges (feature × service identity × signal × destination × environment, drawn from
plausible names: each feature has its own identities, signals and destinations) receive events with a
Zipf distribution, so a few hot paths carry most events and a long tail turns up now and then. Every
event is valid and counts once (no `count` field); one edge in twenty also reports its credential
lifetime. `observed_at` is spread over the last day at millisecond resolution, so a batch touches both
UTC days and almost no two events share a timestamp.
"""

from __future__ import annotations

import datetime
import itertools
import random
from dataclasses import dataclass

import orjson

SURFACES = ("home", "search", "checkout", "product-page", "cart", "email", "push", "account")
PURPOSES = ("carousel", "ranking", "recommendations", "upsell", "reminders", "offers")
SHARED_IDENTITIES = (
    "spiffe://prod/ns/reco/sa/feature-store",
    "svc-profile-reader",
    "oauth:partner-sync-client",
    "legacy-api-key-2019",
)
SIGNALS = (
    "locale",
    "language",
    "device_class",
    "consent_state",
    "account_tier",
    "coarse_region",
    "browsing_history",
    "purchase_history",
    "cart_contents",
    "search_queries",
    "wishlist",
    "loyalty_points",
    "email_engagement",
    "app_sessions",
    "basket_value_band",
    "returns_history",
    "price_sensitivity",
    "brand_affinity",
    "category_affinity",
    "time_of_day",
    "precise_location",
    "payment_method",
    "credit_score_band",
    "partner_segment",
    "inferred_income_band",
    "inferred_life_stage",
    "household_size",
    "health_interest",
    "store_visits",
    "referral_source",
)
DESTINATIONS = (
    "response",
    "reco-ranker",
    "search-ranker",
    "segment-builder",
    "analytics-warehouse",
    "email-service",
    "push-service",
    "experimentation",
    "feature-store",
    "ads-partner-exchange",
)
ENVIRONMENTS = ("production", "staging", "canary", "eu-west-1", "us-east-1")
ZIPF_EXPONENT = 1.0  # classic Zipf: ~430 distinct paths in a batch of 1,000 over 3,000 edges
TTL_EVERY = 20  # one edge in this many reports its credential lifetime
TTL_CHOICES = (900, 3600, 86_400, 7_776_000)


@dataclass(frozen=True)
class Workload:
    """The batches to send, serialised once, and what they add up to."""

    bodies: list[bytes]
    events: int
    paths: frozenset[tuple[str, str, str, str, str]]  # every distinct edge the events name
    paths_per_batch: float  # distinct paths in a batch, on average
    edge_days_per_batch: float  # distinct (path, UTC day) pairs in a batch, on average


def _edge_pool(rng: random.Random, size: int) -> list[tuple[str, str, str, str, str]]:
    """`size` distinct paths, each one a feature's plausible combination of its own parts."""
    features = []
    for surface, purpose in itertools.product(SURFACES, PURPOSES):
        key = f"{surface}-{purpose}"
        identities = [f"svc-{key}-reader", *rng.sample(SHARED_IDENTITIES, rng.choice((0, 0, 1, 2)))]
        signals = rng.sample(SIGNALS, rng.randrange(6, 20))
        destinations = ["response", *rng.sample(DESTINATIONS[1:], rng.randrange(1, 5))]
        environments = ["production", *rng.sample(ENVIRONMENTS[1:], rng.choice((0, 1, 1, 2, 3)))]
        features.append((key, identities, signals, destinations, environments))
    capacity = sum(len(i) * len(s) * len(d) * len(e) for _, i, s, d, e in features)
    if size > capacity // 2:
        raise ValueError(f"At most {capacity // 2} distinct edges can be drawn from the name pools; asked {size}.")
    chosen: dict[tuple, None] = {}  # insertion-ordered, so the pool is deterministic
    while len(chosen) < size:
        key, identities, signals, destinations, environments = rng.choice(features)
        path = (key, rng.choice(identities), rng.choice(signals), rng.choice(destinations), rng.choice(environments))
        chosen[path] = None
    pool = list(chosen)
    rng.shuffle(pool)  # the Zipf rank of a path is its place here
    return pool


def generate_workload(
    *,
    events: int,
    batch: int,
    edges: int,
    now: datetime.datetime,
    zipf: float = ZIPF_EXPONENT,
    seed: int = 20_261_125,
) -> Workload:
    """`events` observations over about `edges` distinct paths, as JSON bodies of `batch` events each; the
    path of rank r is drawn with weight 1 / r ** zipf."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    pool = _edge_pool(rng, edges)
    weights = list(itertools.accumulate(1 / (rank + 1) ** zipf for rank in range(len(pool))))
    drawn = rng.choices(range(len(pool)), cum_weights=weights, k=events)
    ttls = {index: rng.choice(TTL_CHOICES) for index in range(0, len(pool), TTL_EVERY)}
    end_ms = int(now.timestamp() * 1000) - 60_000  # a minute ago, at most
    day_ms = 86_400_000

    bodies, paths_seen, batch_paths, batch_edge_days = [], set(), 0, 0
    for start in range(0, events, batch):
        items, paths, edge_days = [], set(), set()
        for index in drawn[start : start + batch]:
            feature, identity, signal, destination, environment = path = pool[index]
            moment = datetime.datetime.fromtimestamp(rng.randrange(end_ms - day_ms, end_ms) / 1000, datetime.UTC)
            item = {
                "feature": feature,
                "service_identity": identity,
                "signal": signal,
                "destination": destination,
                "environment": environment,
                "observed_at": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            }
            if index in ttls:
                item["credential_ttl_seconds"] = ttls[index]
            items.append(item)
            paths.add(path)
            edge_days.add((index, moment.date()))
        bodies.append(orjson.dumps(items))
        paths_seen |= paths
        batch_paths += len(paths)
        batch_edge_days += len(edge_days)
    return Workload(
        bodies=bodies,
        events=events,
        paths=frozenset(paths_seen),
        paths_per_batch=batch_paths / len(bodies),
        edge_days_per_batch=batch_edge_days / len(bodies),
    )
