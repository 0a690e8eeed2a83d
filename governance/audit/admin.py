"""The audit trail in the admin: to read, never to add, change or delete."""

from django.contrib import admin

from governance.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = [
        "sequence",
        "occurred_at",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "object_label",
    ]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_label", "action", "object_id", "object_label", "hash"]
    date_hierarchy = "occurred_at"
    ordering = ["-sequence"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
