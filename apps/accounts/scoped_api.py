"""API building blocks that ask `visibility`, as scoped_admin does for the admin."""
from rest_framework import serializers, viewsets

from apps.core.identifiers import mask_id_number

from . import visibility


class ScopedReadOnlyViewSet(viewsets.ReadOnlyModelViewSet):
    """Lists and fetches only what `visibility` lets the user see; anything else is a 404, not a 403."""

    def get_queryset(self):
        return visibility.visible(self.request.user, self.queryset)


class MaskedIdField(serializers.CharField):
    """A resident ID, in full only for roles whose work needs it (visibility.sees_full_id)."""

    def to_representation(self, value):
        request = self.context.get("request")
        if request is not None and visibility.sees_full_id(request.user):
            return value
        return mask_id_number(value)
