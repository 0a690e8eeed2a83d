"""Administrators manage the signal catalogue and the identity inventory here."""

from django import forms
from django.contrib import admin

from features.models import Feature, Registration, ServiceIdentity, Signal
from features.secrets import secret_kind, secret_refusal
from features.services import catalogue_entry_deleted, catalogue_entry_saved


def _secret_in(value) -> str | None:
    """The kind of secret a text value holds, or any text in a list value (granted scopes)."""
    if isinstance(value, str):
        return secret_kind(value)
    if isinstance(value, list | tuple):
        return next((kind for item in value if isinstance(item, str) and (kind := secret_kind(item))), None)
    return None


class CatalogueForm(forms.ModelForm):
    """Refuses secret-shaped values in any text field: the inventory holds references, never secrets."""

    def clean(self):
        cleaned = super().clean()
        for name, value in list(cleaned.items()):
            kind = _secret_in(value)
            if kind:
                self.add_error(name, secret_refusal(kind))
                cleaned.pop(name, None)
                self.data = self.data.copy()  # never echo the secret back into the page
                self.data[self.add_prefix(name)] = ""
        return cleaned


class CatalogueAdmin(admin.ModelAdmin):
    """Every change is audited, and versions in review that use the entry are re-checked."""

    form = CatalogueForm

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        catalogue_entry_saved(actor=request.user, entry=obj, created=not change)

    def delete_model(self, request, obj):
        catalogue_entry_deleted(actor=request.user, entry=obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Signal)
class SignalAdmin(CatalogueAdmin):
    list_display = ["key", "name", "category", "sensitivity"]
    list_filter = ["category", "sensitivity"]
    search_fields = ["key", "name", "description"]


@admin.register(ServiceIdentity)
class ServiceIdentityAdmin(CatalogueAdmin):
    list_display = ["name", "kind", "team", "credential_max_lifetime_days", "last_rotated", "status"]
    list_filter = ["kind", "status", "team"]
    search_fields = ["name", "secret_location", "description"]


@admin.register(Feature)
class FeatureAdmin(admin.ModelAdmin):
    """Read-only here: registrations change through the feature owners' flow, never behind it."""

    list_display = ["key", "name", "team", "status"]
    list_filter = ["status", "team"]
    search_fields = ["key", "name"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Registration)
class RegistrationAdmin(FeatureAdmin):
    list_display = ["feature", "version", "status", "requested_tier", "submitted_at"]
    list_filter = ["status", "requested_tier"]
    search_fields = ["feature__key"]
