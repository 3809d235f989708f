"""GET /api/v1/eligibility/?id_number=…&years=2014-2016: R6 per year for an office that decides hiring or titles."""
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services


class EligibilityQuery(serializers.Serializer):
    # Lenient on purpose: the service validates (with the ID-number rules' own messages) and logs the refusal;
    # a serializer error here would answer 400 without leaving a trace in the lookup log.
    id_number = serializers.CharField(required=False, allow_blank=True, trim_whitespace=True,
                                      help_text="18 位居民身份证号 / resident ID number (GB 11643)")
    years = serializers.CharField(required=False, allow_blank=True,
                                  help_text="2016 或 2014-2016，最多 5 个年度；缺省为上一个完整年度 / "
                                            "one year or a range of at most 5; default: the last complete year")


_Years = inline_serializer("EligibilityYear", many=True, fields={
    "year": serializers.IntegerField(),
    "status": serializers.ChoiceField(choices=["compliant", "not_compliant", "unknown"]),
    "title_level": serializers.CharField(allow_null=True),
    "reasons": serializers.ListField(child=serializers.CharField()),
    "reasons_en": serializers.ListField(child=serializers.CharField()),
    "shortfalls": serializers.DictField(child=serializers.CharField()),
    "barred": inline_serializer("EligibilityBarred", {"code": serializers.CharField(),
                                                      "label": serializers.CharField()}, many=True),
})
EligibilityOut = inline_serializer("Eligibility", {
    "person": inline_serializer("EligibilityPerson", {
        "name": serializers.CharField(), "id_number": serializers.CharField(), "unit": serializers.CharField()}),
    "years": _Years,
    "eligible_all_years": serializers.BooleanField(),
})
_Error = inline_serializer("EligibilityError", {
    "detail": serializers.CharField(), "code": serializers.CharField(), "field": serializers.CharField()})

EXAMPLE = OpenApiExample("2016 年度未达标", response_only=True, status_codes=["200"], value={
    "person": {"name": "王小明", "id_number": "410202********0012", "unit": "龙亭区人民医院"},
    "years": [{"year": 2016, "status": "not_compliant", "title_level": "intermediate",
               "reasons": ["总学时要求 90 学时，已完成 89.5 学时，还差 0.5 学时"],
               "reasons_en": ["total hours: 90 required, 89.5 done, 0.5 missing"],
               "shortfalls": {"total": "0.5"},
               "barred": [{"code": "hiring", "label": "聘用/续聘专业技术岗位"},
                          {"code": "title", "label": "初级职称认定及中高级职称晋升"},
                          {"code": "registration", "label": "执业（职业）资格注册"},
                          {"code": "expert", "label": "申报专家及学科带头人"},
                          {"code": "awards", "label": "申报评奖"}]}],
    "eligible_all_years": False,
})


class EligibilityView(APIView):
    @extend_schema(
        parameters=[EligibilityQuery],
        responses={200: EligibilityOut,
                   400: OpenApiResponse(_Error, description="身份证号或年度有误 / malformed ID number or years"),
                   403: OpenApiResponse(description="角色无权查询 / role may not ask"),
                   404: OpenApiResponse(_Error, description="无此人或不在查询范围内 / unknown or out of scope")},
        examples=[EXAMPLE],
        summary="学时资格查询（R6，逐年）/ R6 eligibility per year",
        description="市、县人社局、单位管理员查询某人各年度继续教育是否达标及其限制事项；每次查询均记录。"
                    " / Whether a person met each year's CE requirement and what R6 bars; every lookup is logged.",
    )
    def get(self, request):
        query = EligibilityQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        answer = services.eligibility_lookup(
            user=request.user, id_number=query.validated_data.get("id_number", ""),
            years=query.validated_data.get("years"), channel="api", ip=request.META.get("REMOTE_ADDR"))
        return Response(answer.as_dict())
