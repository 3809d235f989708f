from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers

from apps.accounts.scoped_api import ScopedReadOnlyViewSet

from .models import CountyDelegation, TrainingBase


class TrainingBaseSerializer(serializers.ModelSerializer):
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)
    approved_by = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = TrainingBase
        fields = ["id", "code", "name", "kind", "level", "region", "approved_by", "approved_on", "serves_public",
                  "serves_professional", "serves_senior", "serves_intermediate", "serves_junior", "is_active"]


class CountyDelegationSerializer(serializers.ModelSerializer):
    county = serializers.SlugRelatedField(slug_field="code", read_only=True)
    base = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = CountyDelegation
        fields = ["id", "county", "base", "since", "note"]


# A base code is a slug (the URL of its completions accepts nothing else).
BASE_CODE = OpenApiParameter("code", str, OpenApiParameter.PATH, pattern=r"^[-a-zA-Z0-9_]+$",
                             description="基地代码 / base code")


@extend_schema_view(retrieve=extend_schema(parameters=[BASE_CODE]))
class TrainingBaseViewSet(ScopedReadOnlyViewSet):
    """继续教育基地（B1–B5）。"""

    queryset = TrainingBase.objects.select_related("region", "approved_by")
    serializer_class = TrainingBaseSerializer
    filterset_fields = ["kind", "level", "is_active"]
    lookup_field = "code"


class CountyDelegationViewSet(ScopedReadOnlyViewSet):
    """县（区）委托市级基地（B4）。"""

    queryset = CountyDelegation.objects.select_related("county", "base")
    serializer_class = CountyDelegationSerializer
