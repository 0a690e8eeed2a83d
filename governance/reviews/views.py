"""Reviewer pages: the queue, the review of one version, decisions and risk acceptance."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timezone import localdate
from django.views.decorators.http import require_GET, require_POST

from features.lifecycle import TransitionNotAllowed
from features.listing import RowUrl, TimeSince
from features.models import Feature, Finding
from features.selectors import registration_with_rows
from features.services import NotAllowed
from governance.reviews.filtersets import ReviewQueueFilterSet
from governance.reviews.forms import AcceptFindingForm, DecisionForm
from governance.reviews.selectors import diff_against_approved, findings_for_review, review_queue, review_queue_rows
from governance.reviews.services import (
    DecisionInvalid,
    OpenCriticalFindings,
    SegregationOfDuties,
    check_reviewer_independence,
    finding_accept,
    review_decide,
)

REFUSALS = (NotAllowed, SegregationOfDuties, OpenCriticalFindings, TransitionNotAllowed)


def _require_review_reader(user) -> None:
    """Reviewers work the queue; auditors and administrators may read it. Owners may not."""
    if not user.sees_every_team:
        raise PermissionDenied("The review queue is for security reviewers and auditors.")


def _require_reviewer(user) -> None:
    if not user.is_reviewer:
        raise PermissionDenied("Only security reviewers take review decisions.")


@require_GET
def queue_page(request):
    _require_review_reader(request.user)
    filterset = ReviewQueueFilterSet(request.GET, queryset=review_queue())
    page = Paginator(filterset.qs, settings.GOVERNANCE["FEATURES_PER_PAGE"]).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filterset": filterset,
        "page": page,
        "registrations": _shown_registrations(review_queue_rows(page.object_list)),
        "query": query.urlencode(),
    }
    return render(request, "reviews/queue.html", context)


def _shown_registrations(rows) -> list[dict]:
    """Each row with its link, who submitted it, when, and how long it has waited, as the queue shows them:
    worked out here once per page, because `{% url %}`, `|date`, `|timesince` and `get_full_name` in the
    template were most of a row's time."""
    review_url = RowUrl("reviews:review", key="slug", version="int")
    waiting = TimeSince()
    return [
        row
        | {
            "url": review_url(key=row["feature_key"], version=row["version"]),
            "submitted_by": _person(row["submitter_first_name"], row["submitter_last_name"], row["submitter_username"]),
            "submitted_on": localdate(row["submitted_at"]).isoformat() if row["submitted_at"] else "",
            "waiting": waiting(row["submitted_at"]),
        }
        for row in rows
    ]


def _person(first_name: str | None, last_name: str | None, username: str | None) -> str:
    """`User.get_full_name()`, else the username: how pages name people."""
    return f"{first_name or ''} {last_name or ''}".strip() or username or ""


def _review_context(request, feature, version, *, decision_form=None, accept_errors=None):
    registration = registration_with_rows(feature, version)
    approved, diff = diff_against_approved(registration)
    try:
        check_reviewer_independence(request.user, feature, registration)
        cannot_decide = None
    except (NotAllowed, SegregationOfDuties) as refused:
        cannot_decide = str(refused)
    if cannot_decide is None and registration.decisions.filter(outcome="approve", reviewer=request.user).exists():
        cannot_decide = "You approved this version; it waits for another reviewer's approval."
    return {
        "feature": feature,
        "registration": registration,
        "findings": findings_for_review(registration),
        "approved": approved,
        "diff": diff,
        "decisions": registration.decisions.select_related("reviewer"),
        "decision_form": decision_form or DecisionForm(requested_tier=registration.requested_tier),
        "accept_form": AcceptFindingForm(),
        "accept_errors": accept_errors or {},
        "cannot_decide": cannot_decide,
        "can_decide": cannot_decide is None,
    }


@require_GET
def review_page(request, key: str, version: int):
    _require_review_reader(request.user)
    feature = get_object_or_404(Feature.objects.select_related("team"), key=key)
    get_object_or_404(feature.versions, version=version)
    return render(request, "reviews/review.html", _review_context(request, feature, version))


@require_POST
def decide(request, key: str, version: int):
    _require_reviewer(request.user)
    feature = get_object_or_404(Feature.objects.select_related("team"), key=key)
    registration = get_object_or_404(feature.versions, version=version)
    form = DecisionForm(request.POST, requested_tier=registration.requested_tier)
    if form.is_valid():
        try:
            review_decide(actor=request.user, registration=registration, **form.cleaned_data)
        except DecisionInvalid as invalid:
            for field, problems in invalid.errors.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        except REFUSALS as refused:
            messages.error(request, str(refused))
            return redirect("reviews:review", key=key, version=version)
        else:
            messages.success(request, f"Decision recorded on {feature.name} v{version}.")
            return redirect("reviews:review", key=key, version=version)
    messages.error(request, "The decision was not recorded: correct the fields marked below.")
    context = _review_context(request, feature, version, decision_form=form)
    return render(request, "reviews/review.html", context, status=200)


@require_POST
def accept_finding(request, finding_id: int):
    _require_reviewer(request.user)
    finding = get_object_or_404(Finding.objects.select_related("feature", "registration"), pk=finding_id)
    form = AcceptFindingForm(request.POST)
    form.is_valid()
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        target = redirect(next_url)
    elif finding.registration:
        target = redirect("reviews:review", key=finding.feature_key, version=finding.registration.version)
    elif finding.feature:
        target = redirect("features:detail", key=finding.feature_key)
    else:
        target = redirect("reviews:queue")
    try:
        finding_accept(
            actor=request.user,
            finding=finding,
            reason=form.cleaned_data.get("reason", ""),
            until=form.cleaned_data.get("until"),
        )
    except DecisionInvalid as invalid:
        messages.error(
            request, "The risk was not accepted: " + " ".join(m for msgs in invalid.errors.values() for m in msgs)
        )
    except REFUSALS as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"{finding.rule_id} accepted until {form.cleaned_data['until']:%Y-%m-%d}.")
    return target
