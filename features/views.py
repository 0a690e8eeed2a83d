"""Pages of the registry. Thin: they read with selectors, write with services, render templates."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.timezone import localdate
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from features.access import can_edit_feature, can_file_features, visible_features
from features.choices import FeatureStatus
from features.declaration import Declaration, DeclarationInvalid, declaration_of
from features.diff import declaration_diff
from features.filtersets import FeatureFilterSet
from features.forms import SECTIONS, FeatureForm, RegistrationEditor
from features.lifecycle import TransitionNotAllowed
from features.listing import RowUrl
from features.models import Decision
from features.secrets import secret_kind, secret_refusal
from features.selectors import (
    feature_findings,
    feature_list,
    feature_list_rows,
    latest_registration,
    policy_context_for,
    registration_with_rows,
)
from features.services import (
    RegistrationLocked,
    feature_create,
    registration_save_draft,
    registration_submit,
)
from governance.accounts.models import Team
from governance.policy.engine import evaluate

FORM_TEMPLATE = "features/registration_form.html"


def _visible_feature(user, key: str):
    return get_object_or_404(visible_features(user).select_related("team"), key=key)


def _editable_feature(user, key: str):
    feature = _visible_feature(user, key)
    if not can_edit_feature(user, feature):
        raise PermissionDenied("Only owners in the feature's team can change its registration.")
    return feature


def _user_teams(user):
    return user.teams.order_by("name")


def _filterable_teams(user):
    return Team.objects.order_by("name") if user.sees_every_team else _user_teams(user)


@require_GET
def feature_list_page(request):
    filterset = FeatureFilterSet(
        request.GET, queryset=feature_list(request.user), teams=_filterable_teams(request.user)
    )
    page = Paginator(filterset.qs, settings.GOVERNANCE["FEATURES_PER_PAGE"]).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "features/feature_list.html",
        {
            "filterset": filterset,
            "page": page,
            "features": _shown_features(feature_list_rows(page.object_list)),
            "query": query.urlencode(),
            "can_file": can_file_features(request.user),
        },
    )


_STATUS_LABELS = dict(FeatureStatus.choices)


def _shown_features(rows) -> list[dict]:
    """Each row with its link, status label and last change as the list shows them: worked out here once
    per page, because `{% url %}`, `|date` and `get_status_display` in the template were most of a row's
    time."""
    detail_url = RowUrl("features:detail", key="slug")
    return [
        row
        | {
            "url": detail_url(key=row["key"]),
            "status_label": _STATUS_LABELS.get(row["status"], row["status"]),
            "updated_on": localdate(row["updated_at"]).isoformat(),
        }
        for row in rows
    ]


def _render_editor(request, *, editor, feature=None, feature_form=None, unplaced=(), status=200):
    return render(
        request,
        FORM_TEMPLATE,
        {"editor": editor, "feature": feature, "feature_form": feature_form, "unplaced_errors": unplaced},
        status=status,
    )


def _rows_fragment(request, editor, section: str):
    return render(request, f"{FORM_TEMPLATE}#rows", {"section": editor.sections[section]})


def _live_findings(request, editor, feature=None):
    """The policy engine's verdict on what is typed right now (nothing is saved)."""
    try:
        findings, incomplete = evaluate(editor.declaration(), policy_context_for(feature)), False
    except DeclarationInvalid:
        findings, incomplete = [], True
    return render(request, f"{FORM_TEMPLATE}#live-findings", {"live_findings": findings, "incomplete": incomplete})


def _typed_secrets(editor, feature_form=None) -> dict[str, str]:
    """Every typed value that looks like a secret, by path, with its kind: parsed or not, valid or not."""
    raw = editor.raw()
    typed = [(name, value) for name, value in raw.items() if name not in SECTIONS]
    for section in SECTIONS:
        for index, row in enumerate(raw[section]):
            typed += [(f"{section}.{index}.{name}", value) for name, value in row.items()]
    if feature_form is not None:
        typed += [(name, feature_form[name].value()) for name in ("key", "name")]
    found = {}
    for path, value in typed:
        text = " ".join(map(str, value)) if isinstance(value, list | tuple) else value
        if isinstance(text, str) and (kind := secret_kind(text)):
            found[path] = kind
    return found


def _invalid(request, editor, invalid: DeclarationInvalid, **context):
    """Re-show the page with every row as typed, errors by their fields, secret values blanked.

    A secret is refused wherever it was typed, even when another field stopped the declaration from being
    read, and it is never shown again: not in the field, not in a message.
    """
    feature_form = context.get("feature_form")
    secrets = _typed_secrets(editor, feature_form)
    for path, kind in secrets.items():
        invalid.errors.setdefault(path, [secret_refusal(kind)])
    if feature_form is not None:
        feature_form.full_clean()
        feature_form.data = feature_form.data.copy()
        for name in ("key", "name", "team"):
            for message in invalid.errors.pop(name, []):
                feature_form.add_error(name, message)
            if name in secrets:
                feature_form.data[name] = ""
    unplaced = editor.show_errors(invalid.errors, blank=set(secrets))
    messages.error(request, "Nothing was saved: correct the fields marked below.")
    return _render_editor(request, editor=editor, unplaced=unplaced, **context)


@require_http_methods(["GET", "POST"])
def feature_create_page(request):
    if not can_file_features(request.user):
        raise PermissionDenied("Only feature owners in a team can register features.")
    teams = _user_teams(request.user)
    if request.method == "GET":
        return _render_editor(request, editor=RegistrationEditor(), feature_form=FeatureForm(teams=teams))
    editor = RegistrationEditor(request.POST)
    feature_form = FeatureForm(request.POST, teams=teams)
    action = request.POST.get("action", "save")
    if action == "check":
        return _live_findings(request, editor)
    if changed := editor.change_rows(action):
        if request.htmx:
            return _rows_fragment(request, editor, changed)
        return _render_editor(request, editor=editor, feature_form=feature_form)
    try:
        declaration = editor.declaration()
        feature = feature_create(
            actor=request.user,
            key=feature_form["key"].value() or "",
            name=feature_form["name"].value() or "",
            team=teams.filter(slug=feature_form["team"].value() or "").first(),
            declaration=declaration,
        )
        if action == "submit":
            registration_submit(actor=request.user, feature=feature)
    except DeclarationInvalid as invalid:
        return _invalid(request, editor, invalid, feature_form=feature_form)
    messages.success(request, _saved_message(feature, action))
    return redirect("features:detail", key=feature.key)


def _saved_message(feature, action: str) -> str:
    if action == "submit":
        return f"{feature.name} was submitted for review; this version can no longer change."
    return f"Draft of {feature.name} saved. Submit it for review when it is complete."


@require_http_methods(["GET", "POST"])
def registration_edit_page(request, key: str):
    feature = _editable_feature(request.user, key)
    if request.method == "GET":
        latest = latest_registration(feature)
        declaration = declaration_of(latest) if latest else Declaration()
        return _render_editor(request, editor=RegistrationEditor(declaration=declaration), feature=feature)
    editor = RegistrationEditor(request.POST)
    action = request.POST.get("action", "save")
    if action == "check":
        return _live_findings(request, editor, feature)
    if changed := editor.change_rows(action):
        if request.htmx:
            return _rows_fragment(request, editor, changed)
        return _render_editor(request, editor=editor, feature=feature)
    try:
        declaration = editor.declaration()
        if action == "submit":
            registration_submit(actor=request.user, feature=feature, declaration=declaration)
        else:
            registration_save_draft(actor=request.user, feature=feature, declaration=declaration)
    except DeclarationInvalid as invalid:
        return _invalid(request, editor, invalid, feature=feature)
    except (RegistrationLocked, TransitionNotAllowed) as refused:
        messages.error(request, str(refused))
        return _render_editor(request, editor=editor, feature=feature, status=409)
    messages.success(request, _saved_message(feature, action))
    return redirect("features:detail", key=feature.key)


@require_POST
def registration_submit_page(request, key: str):
    feature = _editable_feature(request.user, key)
    try:
        registration_submit(actor=request.user, feature=feature)
    except DeclarationInvalid:
        messages.error(request, "This draft is not complete yet: open it, correct the marked fields, submit.")
        return redirect("features:edit", key=feature.key)
    except (RegistrationLocked, TransitionNotAllowed) as refused:
        messages.error(request, str(refused))
        return redirect("features:detail", key=feature.key)
    messages.success(request, _saved_message(feature, "submit"))
    return redirect("features:detail", key=feature.key)


@require_GET
def feature_detail_page(request, key: str):
    feature = _visible_feature(request.user, key)
    versions = list(feature.versions.select_related("created_by", "submitted_by").order_by("-version"))
    current = registration_with_rows(feature, versions[0].version) if versions else None
    return render(
        request,
        "features/feature_detail.html",
        {
            "feature": feature,
            "current": current,
            "versions": versions,
            "in_force": next((v for v in versions if v.pk == feature.approved_registration_id), None),
            "findings": feature_findings(feature, current),
            "draft_findings": evaluate(declaration_of(current), policy_context_for(feature))
            if current and current.is_draft
            else None,
            "decisions": Decision.objects.filter(registration__feature=feature)
            .select_related("reviewer", "registration")
            .order_by("-decided_at"),
            "can_edit": can_edit_feature(request.user, feature),
        },
    )


@require_GET
def registration_detail_page(request, key: str, version: int):
    feature = _visible_feature(request.user, key)
    try:
        registration = registration_with_rows(feature, version)
    except feature.versions.model.DoesNotExist:
        raise Http404("No such version.") from None
    return render(
        request,
        "features/registration_detail.html",
        {
            "feature": feature,
            "registration": registration,
            "can_edit": can_edit_feature(request.user, feature),
        },
    )


@require_GET
def registration_diff_page(request, key: str):
    feature = _visible_feature(request.user, key)
    numbers = list(feature.versions.order_by("version").values_list("version", flat=True))
    if not numbers:
        raise Http404("This feature has no versions yet.")

    def chosen(name: str, default: int) -> int:
        value = request.GET.get(name, "")
        return int(value) if value.isdigit() and int(value) in numbers else default

    after = chosen("to", numbers[-1])
    before = chosen("from", max((n for n in numbers if n < after), default=after))
    diff = declaration_diff(
        declaration_of(registration_with_rows(feature, before)) if before != after else None,
        declaration_of(registration_with_rows(feature, after)),
    )
    return render(
        request,
        "features/registration_diff.html",
        {"feature": feature, "numbers": numbers, "before": before, "after": after, "diff": diff},
    )
