"""Building blocks shared by the synthetic registries of the benchmarks (governance/drift/benchmarking.py,
governance/evidence/benchmarking.py).

The names and values written here are what the benchmarks' figures and the tests that use those
registries were measured on: change them and the numbers are no longer comparable.
"""

from __future__ import annotations

from features.choices import FeatureStatus, IdentityKind
from features.models import Feature, ServiceIdentity
from governance.accounts.models import Team, User


def bulk_approved_features(
    prefix: str, count: int, team: Team, owner: User
) -> tuple[list[ServiceIdentity], list[Feature]]:
    """Bulk-create `count` approved features of `team` and one workload identity for each, and return
    both lists in index order (identity `i` is feature `i`'s): features `{prefix}-00000`… named
    "Benchmark feature i", created by `owner`; identities `{prefix}-svc-00000`… with `profile:read`,
    30-day credentials kept in `vault://kv/{prefix}/i`. The features have no registration yet."""
    identities = ServiceIdentity.objects.bulk_create(
        [
            ServiceIdentity(
                name=f"{prefix}-svc-{i:05d}",
                kind=IdentityKind.WORKLOAD_IDENTITY,
                team=team,
                granted_scopes=["profile:read"],
                credential_max_lifetime_days=30,
                secret_location=f"vault://kv/{prefix}/{i}",
            )
            for i in range(count)
        ]
    )
    features = Feature.objects.bulk_create(
        [
            Feature(
                key=f"{prefix}-{i:05d}",
                name=f"Benchmark feature {i}",
                team=team,
                status=FeatureStatus.APPROVED,
                created_by=owner,
            )
            for i in range(count)
        ]
    )
    return identities, features
