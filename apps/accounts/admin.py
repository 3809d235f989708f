from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import User
from .scoped_admin import ScopedAdminMixin


@admin.register(User)
class UserAdmin(ScopedAdminMixin, DjangoUserAdmin):
    list_display = ("username", "get_full_name", "role", "organisation", "is_active", "last_login")
    list_filter = ("role", "is_active")
    search_fields = ("username", "first_name", "last_name", "email")
    autocomplete_fields = ("person", "unit", "base", "department", "region")
    fieldsets = DjangoUserAdmin.fieldsets + (
        (_("角色与所属机构"), {"fields": ("role", "person", "unit", "base", "department", "region")}),
    )
    add_fieldsets = DjangoUserAdmin.add_fieldsets + (
        (_("角色与所属机构"), {"fields": ("role", "person", "unit", "base", "department", "region")}),
    )
