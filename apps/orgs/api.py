from rest_framework import serializers

from apps.accounts.scoped_api import ScopedReadOnlyViewSet

from .models import Industry, IndustryDepartment, Region, Unit


class RegionSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)  # the province: none

    class Meta:
        model = Region
        fields = ["id", "code", "name", "kind", "parent"]


class IndustrySerializer(serializers.ModelSerializer):
    class Meta:
        model = Industry
        fields = ["id", "code", "name"]


class IndustryDepartmentSerializer(serializers.ModelSerializer):
    industry = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = IndustryDepartment
        fields = ["id", "name", "industry"]


class UnitSerializer(serializers.ModelSerializer):
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)
    industry = serializers.SlugRelatedField(slug_field="code", read_only=True)
    city_affiliated = serializers.BooleanField(source="is_city_affiliated", read_only=True)

    class Meta:
        model = Unit
        fields = ["id", "name", "credit_code", "region", "city_affiliated", "industry"]


class RegionViewSet(ScopedReadOnlyViewSet):
    """行政区划：市、县（区）。"""

    queryset = Region.objects.select_related("parent")
    serializer_class = RegionSerializer
    filterset_fields = ["kind", "code"]


class IndustryViewSet(ScopedReadOnlyViewSet):
    queryset = Industry.objects.all()
    serializer_class = IndustrySerializer


class IndustryDepartmentViewSet(ScopedReadOnlyViewSet):
    queryset = IndustryDepartment.objects.select_related("industry")
    serializer_class = IndustryDepartmentSerializer


class UnitViewSet(ScopedReadOnlyViewSet):
    """单位：按角色可见范围列出。"""

    queryset = Unit.objects.select_related("region", "region__parent", "industry").order_by("id")
    serializer_class = UnitSerializer
    filterset_fields = {"region__code": ["exact"], "industry__code": ["exact"], "credit_code": ["exact"],
                        "name": ["icontains"]}
