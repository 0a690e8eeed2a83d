"""Drift pages: a feature's declared-versus-observed data paths, and the overview for reviewers.

Thin: access is decided here with the registry's own rules (`features.access`), the reads live in
`governance.drift.selectors`, risk acceptance posts to the reviews app's form.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from features.access import visible_features
from features.services import NotAllowed
from governance.drift.selectors import (
    data_paths,
    drift_chart,
    drift_findings,
    drift_overview,
    is_observed_key,
    newest_open_drift,
)
from governance.reviews.services import SegregationOfDuties, check_reviewer_independence

DASHBOARD = "drift/dashboard.html"


def _require_drift_reader(user) -> None:
    """Drift spans every team: reviewers, auditors and administrators read it; owners use their features."""
    if not user.sees_every_team:
        raise PermissionDenied("The drift overview spans every team: reviewers, auditors and administrators only.")


def _may_accept(user, feature) -> bool:
    try:
        check_reviewer_independence(user, feature)
    except (NotAllowed, SegregationOfDuties):
        return False
    return True


def _with_links(findings):
    """Each finding with the URL of its key's data paths (none for a key that is not a slug)."""
    for finding in findings:
        try:
            finding.paths_url = reverse("drift:data-paths", kwargs={"key": finding.feature_key})
        except NoReverseMatch:
            finding.paths_url = None
    return findings


@require_GET
def dashboard_page(request):
    _require_drift_reader(request.user)
    context = {"newest": _with_links(newest_open_drift())}
    if request.htmx:
        return render(request, f"{DASHBOARD}#newest", context)
    chart = drift_chart(timezone.localdate())
    context |= {
        "overview": drift_overview(),
        "chart": chart,
        "chart_rows": list(zip(chart["labels"], chart["observed"], chart["new_findings"], strict=True)),
    }
    return render(request, DASHBOARD, context)


@require_GET
def data_paths_page(request, key: str):
    """Who sees the feature sees its data paths; a key nobody registered is for cross-team readers only."""
    feature = visible_features(request.user).select_related("team").filter(key=key).first()
    if feature is None and not (request.user.sees_every_team and is_observed_key(key)):
        raise Http404("No such feature.")
    return render(
        request,
        "drift/data_paths.html",
        {
            "feature": feature,
            "key": key,
            "paths": data_paths(key, feature),
            "findings": drift_findings(key),
            "can_accept": _may_accept(request.user, feature),
            "accept_next": request.get_full_path(),
        },
    )
