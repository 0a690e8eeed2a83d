"""Administrators manage the signal catalogue and the identity inventory here."""

from django.contrib import admin

from features.models import Feature, Registration, ServiceIdentity, Signal


@admin.register(Signal)
class SignalAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "category", "sensitivity"]
    list_filter = ["category", "sensitivity"]
    search_fields = ["key", "name", "description"]


@admin.register(ServiceIdentity)
class ServiceIdentityAdmin(admin.ModelAdmin):
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
