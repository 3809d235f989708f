from rest_framework import serializers
from rest_framework.response import Response

from apps.accounts.scoped_api import MaskedIdField, ScopedReadOnlyViewSet
from apps.accounts.visibility import sees_full_id
from apps.auditlog.models import Action
from apps.auditlog.services import record, record_full_ids

from .models import Person, PromotionApplication, TitleHolding


class TitleHoldingSerializer(serializers.ModelSerializer):
    class Meta:
        model = TitleHolding
        fields = ["level", "series", "obtained_on"]


class PromotionSerializer(serializers.ModelSerializer):
    class Meta:
        model = PromotionApplication
        fields = ["year", "from_level", "to_level"]


class PersonSerializer(serializers.ModelSerializer):
    id_number = MaskedIdField(read_only=True)
    unit = serializers.SlugRelatedField(slug_field="credit_code", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    titles = TitleHoldingSerializer(many=True, read_only=True)
    promotions = PromotionSerializer(many=True, read_only=True)

    class Meta:
        model = Person
        fields = ["id", "id_number", "name", "gender", "birth_date", "unit", "unit_name", "title_series",
                  "titles", "promotions"]


class PersonViewSet(ScopedReadOnlyViewSet):
    """专业技术人员：身份证号按角色脱敏显示。"""

    queryset = Person.objects.select_related("unit").prefetch_related("titles", "promotions").order_by("id")
    serializer_class = PersonSerializer
    filterset_fields = {"unit__credit_code": ["exact"], "unit__region__code": ["exact"], "name": ["exact"],
                        "titles__level": ["exact"]}

    def retrieve(self, request, *args, **kwargs):
        person = self.get_object()
        if sees_full_id(request.user):  # one person's record with the full number: recorded
            record(request, Action.VIEW_FULL_ID, target=person, details={"channel": "api"})
        return Response(self.get_serializer(person).data)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        if sees_full_id(request.user):  # a page of full numbers: one event naming whose
            rows = response.data.get("results", response.data) if isinstance(response.data, dict) else response.data
            record_full_ids(request, page="api:people", person_ids=[r["id"] for r in rows])
        return response
