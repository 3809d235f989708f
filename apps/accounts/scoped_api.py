"""API building blocks that ask `visibility`, as scoped_admin does for the admin."""
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers, viewsets

from apps.core.api import with_errors
from apps.core.identifiers import mask_id_number

from . import visibility


class ScopedSchema(AutoSchema):
    """Documents the errors every scoped endpoint can answer: 403 without a valid login, 404 for an object out of
    scope or a page past the end, and for lists 400 for a filter value that is not allowed."""

    def get_response_serializers(self):
        ok = super().get_response_serializers()
        if isinstance(ok, dict):  # an explicit @extend_schema(responses={...}) says it all
            return ok
        return with_errors(ok, 400, 403, 404) if self._is_list_view(ok) else with_errors(ok, 403, 404)


class ScopedReadOnlyViewSet(viewsets.ReadOnlyModelViewSet):
    """Lists and fetches only what `visibility` lets the user see; anything else is a 404, not a 403."""

    schema = ScopedSchema()

    def get_queryset(self):
        return visibility.visible(self.request.user, self.queryset)


class MaskedIdField(serializers.CharField):
    """A resident ID, in full only for roles whose work needs it (visibility.sees_full_id)."""

    def to_representation(self, value):
        request = self.context.get("request")
        if request is not None and visibility.sees_full_id(request.user):
            return value
        return mask_id_number(value)
