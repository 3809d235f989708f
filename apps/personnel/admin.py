from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin

from apps.accounts.scoped_admin import ScopedModelAdmin, ScopedTabularInline, masked_id_column
from apps.auditlog.admin import AuditedExportMixin
from apps.auditlog.models import Action
from apps.auditlog.services import record
from apps.core.importing import IMPORT_FORMATS

from .models import Person, PromotionApplication, TitleHolding
from .resources import PersonTitleResource


class TitleHoldingInline(ScopedTabularInline):
    model = TitleHolding


class PromotionInline(ScopedTabularInline):
    model = PromotionApplication


@admin.register(Person)
class PersonAdmin(AuditedExportMixin, ImportExportMixin, ScopedModelAdmin):
    # The import-export mixin comes first so its views wrap ScopedModelAdmin's, whose get_queryset (the export
    # list) and permissions still decide what this user sees; the resource scopes the rows it imports and masks
    # the ID numbers it exports for roles that may not see them.
    resource_classes = [PersonTitleResource]
    import_formats = IMPORT_FORMATS
    export_formats = IMPORT_FORMATS
    list_display = ("name", "gender", "birth_date", "unit", "title_series")
    list_filter = ("gender", "unit__region", "titles__level")
    search_fields = ("name", "=id_number", "unit__name")
    list_select_related = ("unit",)
    readonly_fields = ("gender", "birth_date", "created_at", "updated_at")
    autocomplete_fields = ("unit",)
    inlines = [TitleHoldingInline, PromotionInline]

    def get_search_fields(self, request):
        # Searching by the full ID number is for roles that may see it; others search by name and unit.
        from apps.accounts import visibility

        return self.search_fields if visibility.sees_full_id(request.user) else ("name", "unit__name")

    def get_list_display(self, request):
        # A closure over the request: whether the number is masked depends on who is looking.
        @admin.display(description=_("身份证号"))
        def id_number(obj):
            return masked_id_column(request, obj.id_number)

        return ("name", id_number, *self.list_display[1:])

    def get_fields(self, request, obj=None):
        from apps.accounts import visibility

        fields = super().get_fields(request, obj)
        if obj is not None and not visibility.sees_full_id(request.user):
            return [f for f in fields if f != "id_number"]
        return fields

    def change_view(self, request, object_id, form_url="", extra_context=None):
        from apps.accounts import visibility

        if visibility.sees_full_id(request.user):  # the form shows the full number: recorded
            person = self.get_object(request, object_id)
            if person is not None:
                record(request, Action.VIEW_FULL_ID, target=person, details={"page": "admin"})
        return super().change_view(request, object_id, form_url, extra_context)

    def get_resource_kwargs(self, request, *args, **kwargs):
        return {"user": request.user}

    def has_import_permission(self, request):
        from apps.accounts import visibility

        return visibility.can_add(request.user, self.model)

    def has_export_permission(self, request):
        return self.has_view_permission(request)


@admin.register(TitleHolding)
class TitleHoldingAdmin(ScopedModelAdmin):
    list_display = ("person", "level", "series", "obtained_on")
    list_filter = ("level",)
    search_fields = ("person__name",)
    list_select_related = ("person",)
    autocomplete_fields = ("person",)


@admin.register(PromotionApplication)
class PromotionApplicationAdmin(ScopedModelAdmin):
    list_display = ("person", "year", "from_level", "to_level")
    list_filter = ("year", "to_level")
    search_fields = ("person__name",)
    list_select_related = ("person",)
    autocomplete_fields = ("person",)
