"""Admin classes that ask `visibility` for every list, object, choice and permission.

Django's per-model permission tables are not used for our models: what a role may do is decided in
`apps.accounts.visibility`, so the admin, pages and API cannot drift apart.
"""
from django.contrib import admin

from apps.core.identifiers import mask_id_number

from . import visibility


class ScopedAdminMixin:
    def get_queryset(self, request):
        return visibility.visible(request.user, super().get_queryset(request))

    def has_module_permission(self, request):
        return visibility.visible(request.user, self.model).exists() or visibility.can_add(request.user, self.model)

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return request.user.is_active and request.user.is_staff
        return visibility.is_visible(request.user, obj)

    def has_add_permission(self, request, *args):
        return visibility.can_add(request.user, self.model)

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return visibility.can_add(request.user, self.model)
        return visibility.can_change(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        # Registry rows are kept for history; only the system administrator may delete, and only what it can see.
        if request.user.role != "system_admin":
            return False
        return obj is None or visibility.is_visible(request.user, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Choices are limited to what the user may attach to, so nobody can place a record outside their scope.
        if db_field.related_model in visibility.registered_models():
            kwargs["queryset"] = visibility.assignable(request.user, db_field.related_model)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ScopedModelAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_per_page = 50
    show_full_result_count = False  # COUNT(*) over a million people on every page is wasted work


class ScopedTabularInline(ScopedAdminMixin, admin.TabularInline):
    extra = 0

    def has_add_permission(self, request, obj=None):
        return visibility.can_add(request.user, self.model)

    def has_change_permission(self, request, obj=None):
        return visibility.can_add(request.user, self.model)

    def has_delete_permission(self, request, obj=None):
        return visibility.can_add(request.user, self.model)


def masked_id_column(request, number: str) -> str:
    return number if visibility.sees_full_id(request.user) else mask_id_number(number)


class ReadOnlyScopedAdmin(ScopedModelAdmin):
    """For records that only services write (the ledger, enrolment): looked at here, never edited."""

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
