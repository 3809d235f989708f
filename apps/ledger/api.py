"""GET /api/v1/people/{person}/compliance/ and /hours/: a person's standing for a year, and its entries."""
import datetime

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.visibility import get_visible_or_404
from apps.core.api import with_errors
from apps.personnel.models import Person

from . import selectors
from .compliance import fmt, result_as_dict

YEAR = OpenApiParameter("year", OpenApiTypes.INT, required=True, description="自然年度，如 2016")
# The URL takes digits only (<int:person_id>); anything else is no route at all.
PERSON_ID = OpenApiParameter("person_id", {"type": "integer", "minimum": 0}, OpenApiParameter.PATH)
AS_OF = OpenApiParameter("as_of", OpenApiTypes.DATE, required=False,
                         description="按该日结束时已记录的数据评估（时点查询）/ as known at the end of this day")


def parse_year(value, *, required: bool = True) -> int | None:
    if value in (None, ""):
        if required:
            raise ValidationError({"year": [_("请提供年度参数 year，如 2016")]})
        return None
    try:
        year = int(value)
    except (TypeError, ValueError):
        raise ValidationError({"year": [_("年度须为四位数字，如 2016")]}) from None
    if not 1990 <= year <= 2100:
        raise ValidationError({"year": [_("年度 %(y)s 超出范围") % {"y": year}]})
    return year


def parse_day(value) -> datetime.date | None:
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ValidationError({"as_of": [_("日期格式应为 YYYY-MM-DD")]}) from None


def pending_hours_text(person: Person, year: int) -> str:
    """Hours bases have reported but the bureau has not endorsed yet. They live with the enrolment app (above the
    ledger), so the page and the API ask it here, at the presentation layer, never from the ledger's selectors."""
    from apps.enrollment.selectors import pending_hours

    return fmt(pending_hours(person_id=person.pk, year=year))


def compliance_payload(person: Person, year: int, as_of: datetime.date | None) -> dict:
    """The one JSON shape of a person's compliance: the API and `manage.py compliance --json` both return it."""
    result = selectors.person_compliance(person=person, year=year, as_of=as_of)
    return {"person": person.pk, "name": person.name, "id_number": person.masked_id,
            "as_of": as_of.isoformat() if as_of else None, **result_as_dict(result),
            "pending_hours": pending_hours_text(person, year)}


ComplianceOut = inline_serializer("Compliance", {
    "person": serializers.IntegerField(), "name": serializers.CharField(), "id_number": serializers.CharField(),
    "as_of": serializers.DateField(allow_null=True), "year": serializers.IntegerField(),
    "title_level": serializers.CharField(), "totals": serializers.DictField(child=serializers.CharField()),
    "requirements": serializers.DictField(child=serializers.CharField(allow_null=True)),
    "compliant": serializers.BooleanField(), "summary": serializers.CharField(),
    "summary_en": serializers.CharField(),
    "rules": serializers.ListField(child=serializers.DictField()),
    "shortfalls": serializers.ListField(child=serializers.DictField()),
    "consequences": serializers.ListField(child=serializers.DictField()),
    "pending_hours": serializers.CharField(),
})


class ComplianceView(APIView):
    @extend_schema(parameters=[PERSON_ID, YEAR, AS_OF], responses=with_errors(ComplianceOut, 400, 403, 404),
                   summary="某人某年度学时达标情况（R1–R6）/ a person's compliance for a year")
    def get(self, request, person_id: int):
        person = get_visible_or_404(request.user, Person.objects.select_related("unit__region__parent__parent"),
                                    pk=person_id)
        year = parse_year(request.query_params.get("year"))
        return Response(compliance_payload(person, year, parse_day(request.query_params.get("as_of"))))


class HourEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    year = serializers.IntegerField()
    category = serializers.CharField()
    category_display = serializers.CharField(source="get_category_display")
    hours = serializers.DecimalField(max_digits=6, decimal_places=1)
    credits = serializers.DecimalField(max_digits=6, decimal_places=1)
    course_code = serializers.CharField(source="course.code", default=None, allow_null=True)
    course_title = serializers.SerializerMethodField()
    base = serializers.CharField(source="base.code", default=None, allow_null=True)
    base_name = serializers.CharField(source="base.name", default=None, allow_null=True)
    organiser = serializers.CharField()
    completed_on = serializers.DateField()
    source = serializers.CharField()
    source_display = serializers.CharField(source="get_source_display")
    source_object = serializers.SerializerMethodField()
    source_row = serializers.IntegerField(allow_null=True)
    reverses = serializers.IntegerField(source="reverses_id", allow_null=True)
    reversed_by = serializers.SerializerMethodField()
    reason = serializers.CharField()
    recorded_by = serializers.CharField(source="created_by.username", default=None, allow_null=True)
    recorded_at = serializers.DateTimeField(source="created_at")

    def get_course_title(self, obj) -> str:
        return obj.course.title if obj.course_id else obj.course_title

    def get_source_object(self, obj) -> str | None:
        return f"{obj.source_type.model}:{obj.source_id}" if obj.source_type_id else None

    def get_reversed_by(self, obj) -> int | None:
        rev = getattr(obj, "reversed_by", None)
        return rev.pk if rev else None


class HoursView(APIView):
    @extend_schema(parameters=[PERSON_ID, OpenApiParameter("year", OpenApiTypes.INT, required=False), AS_OF],
                   responses=with_errors(HourEntrySerializer(many=True), 400, 403, 404),
                   summary="某人的学时记录及来源 / a person's ledger entries with their provenance")
    def get(self, request, person_id: int):
        person = get_visible_or_404(request.user, Person, pk=person_id)
        year = parse_year(request.query_params.get("year"), required=False)
        entries = selectors.person_entries(person=person, year=year,
                                           as_of=parse_day(request.query_params.get("as_of")))
        return Response(HourEntrySerializer(entries, many=True).data)
