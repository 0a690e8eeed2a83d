from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from governance.accounts.forms import AdminLoginForm
from governance.accounts.models import Team, User


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(User)
class GovernanceUserAdmin(UserAdmin):
    list_display = ["username", "email", "role", "is_active"]
    list_filter = ["role", "is_active", "teams"]
    filter_horizontal = ["teams", "groups", "user_permissions"]
    fieldsets = (*UserAdmin.fieldsets, ("Governance", {"fields": ["role", "teams"]}))
    add_fieldsets = (*UserAdmin.add_fieldsets, ("Governance", {"fields": ["role", "teams"]}))


# The admin's own login page checks passwords too: it says so when a lockout refuses one.
admin.site.login_form = AdminLoginForm
