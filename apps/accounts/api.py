from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from apps.core.api import with_errors


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField()
    role = serializers.CharField()
    role_display = serializers.CharField()
    organisation = serializers.CharField(allow_null=True)


@extend_schema(responses=with_errors(MeSerializer, 403), summary="当前用户及其角色")
@api_view(["GET"])
def me(request):
    user = request.user
    org = user.organisation
    return Response(MeSerializer({
        "username": user.username,
        "name": user.get_full_name() or user.username,
        "role": user.role,
        "role_display": user.get_role_display(),
        "organisation": str(org) if org is not None else None,
    }).data)
