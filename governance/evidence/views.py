"""Evidence pages: ask for a pack, watch it build, download it, fetch the key that verifies it.

Thin: who may export is `services.can_export_evidence`, the reads live in `selectors`, the work in
`services`. Owners get 403 everywhere here except the public key, which anyone logged in may read.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from features.services import NotAllowed
from governance.evidence.forms import EvidenceRequestForm
from governance.evidence.selectors import exportable_feature_keys, packs_visible_to
from governance.evidence.services import (
    EvidenceRequestInvalid,
    PackUnavailable,
    can_export_evidence,
    evidence_download,
    evidence_request,
)
from governance.evidence.signing import public_key_pem

PAGE = "evidence/evidence.html"


def _require_exporter(user) -> None:
    if not can_export_evidence(user):
        raise PermissionDenied("Evidence packs span every team: auditors, reviewers and administrators only.")


@require_http_methods(["GET", "HEAD", "POST"])
def evidence_page(request):
    _require_exporter(request.user)
    form = EvidenceRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pack = evidence_request(actor=request.user, scope=form.pack_scope(), as_of=form.cleaned_data["as_of"])
        except EvidenceRequestInvalid as invalid:
            for field, problems in invalid.errors.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        except NotAllowed as refused:
            raise PermissionDenied(str(refused)) from refused
        else:
            messages.success(request, f"Evidence pack {pack.pk} requested: {pack.scope_label}.")
            return redirect("evidence:list")
    if request.method == "POST":
        messages.error(request, "No pack was requested: correct the fields marked below.")
    page = Paginator(packs_visible_to(request.user), settings.GOVERNANCE["FEATURES_PER_PAGE"]).get_page(
        request.GET.get("page")
    )
    return render(request, PAGE, {"form": form, "page": page, "feature_keys": exportable_feature_keys()})


@require_GET
def pack_status(request, pk: int):
    """One pack's row, polled by the page while the pack is queued or building."""
    _require_exporter(request.user)
    pack = get_object_or_404(packs_visible_to(request.user), pk=pk)
    return render(request, f"{PAGE}#pack-row", {"pack": pack})


@require_GET
def download(request, pk: int):
    _require_exporter(request.user)
    pack = get_object_or_404(packs_visible_to(request.user), pk=pk)
    try:
        path = evidence_download(actor=request.user, pack=pack)
    except PackUnavailable as unavailable:
        messages.error(request, str(unavailable))
        return redirect("evidence:list")
    response = FileResponse(
        path.open("rb"), as_attachment=True, filename=pack.file_name, content_type="application/zip"
    )
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def public_key(request):
    """The key that verifies this deployment's packs, for anyone logged in to take to an offline check."""
    response = HttpResponse(public_key_pem(), content_type="text/plain; charset=us-ascii")
    response["Content-Disposition"] = 'inline; filename="evidence-public-key.pem"'
    return response
