"""The auditor's page: is the chain intact, and what happened, newest first."""

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from governance.audit.chain import verify
from governance.audit.filtersets import AuditEventFilterSet
from governance.audit.models import AuditEvent

EVENTS_PER_PAGE = 50
TEMPLATE = "audit/trail.html"


def can_read_audit_trail(user) -> bool:
    """The trail spans every team, so only the roles that read across teams may see it."""
    return user.is_authenticated and user.sees_every_team


@require_GET
def audit_trail_page(request):
    if not can_read_audit_trail(request.user):
        raise PermissionDenied("The audit trail spans every team: auditors, reviewers and administrators only.")
    filterset = AuditEventFilterSet(request.GET, queryset=AuditEvent.objects.order_by("-sequence"))
    page = Paginator(filterset.qs, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filterset": filterset, "page": page, "query": query.urlencode()}
    if request.htmx:
        # Filtering swaps the table only; the chain was verified when the page itself loaded.
        return render(request, f"{TEMPLATE}#events", context)
    return render(request, TEMPLATE, {**context, "verification": verify()})
