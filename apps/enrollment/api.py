"""POST /api/v1/bases/{code}/completions/: the online platform reports course completions (W1)."""
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Role
from apps.accounts.visibility import get_visible_or_404
from apps.bases.api import BASE_CODE
from apps.bases.models import TrainingBase
from apps.core.api import ERROR_RESPONSES

from .completions import MAX_ROWS, completions_record


class CompletionRowIn(serializers.Serializer):
    """One completion as the platform sends it (documentation only: rows are checked one by one by the service,
    so a bad row is reported with its index instead of failing the whole call)."""

    record_id = serializers.CharField(max_length=64, help_text="平台记录号，同一基地内唯一 / platform record id")
    id_number = serializers.CharField(help_text="身份证号（18 位）/ resident ID number")
    name = serializers.CharField(help_text="姓名，须与身份证号登记的一致 / name, must match the ID number")
    course_code = serializers.CharField(help_text="课程代码，完成日期所在年度的网络课程 / online course code")
    hours = serializers.DecimalField(max_digits=5, decimal_places=1, coerce_to_string=True,
                                     help_text="学时：大于 0，以 0.5 为单位，不超过课程学时 / hours, half-hour steps")
    completed_on = serializers.DateField(help_text="完成日期，不晚于今天 / completion date, not in the future")
    passed = serializers.BooleanField(default=True, help_text="是否合格 / passed")


@extend_schema_field(CompletionRowIn(many=True))
class RowsField(serializers.ListField):
    child = serializers.JSONField()


class CompletionsIn(serializers.Serializer):
    request_id = serializers.CharField(max_length=64, help_text="请求号，便于追溯与重试 / request id")
    rows = RowsField(help_text=f"最多 {MAX_ROWS} 行 / at most {MAX_ROWS:,} rows")


class RowErrorOut(serializers.Serializer):
    field = serializers.CharField()
    message = serializers.CharField()


class RowOutcomeOut(serializers.Serializer):
    index = serializers.IntegerField(help_text="行号，从 0 开始 / row index, from 0")
    record_id = serializers.CharField()
    status = serializers.ChoiceField(choices=["accepted", "unchanged", "rejected"])
    errors = RowErrorOut(many=True)


class CompletionReportOut(serializers.Serializer):
    request_id = serializers.CharField()
    accepted = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.IntegerField()
    rows = RowOutcomeOut(many=True)


class ErrorOut(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(required=False)
    field = serializers.CharField(required=False)
    rule = serializers.CharField(required=False)


REQUEST_EXAMPLE = OpenApiExample("两行 / two rows", request_only=True, value={
    "request_id": "kf-online-20160502-0001",
    "rows": [
        {"record_id": "R-000001", "id_number": "412723199010050012", "name": "王小明", "course_code": "GX16-W01",
         "hours": "6", "completed_on": "2016-05-01", "passed": True},
        {"record_id": "R-000002", "id_number": "412723199010050013", "name": "李小红", "course_code": "GX16-W02",
         "hours": "4", "completed_on": "2016-05-01", "passed": True},
    ]})
RESPONSE_EXAMPLE = OpenApiExample("一行接收、一行退回 / one accepted, one rejected", response_only=True,
                                  status_codes=["200"], value={
    "request_id": "kf-online-20160502-0001", "accepted": 1, "unchanged": 0, "rejected": 1,
    "rows": [
        {"index": 0, "record_id": "R-000001", "status": "accepted", "errors": []},
        {"index": 1, "record_id": "R-000002", "status": "rejected",
         "errors": [{"field": "id_number", "message": "身份证号校验位错误：应为 2，实际为 3"}]},
    ]})


class CompletionsView(APIView):
    """Staff of the online base itself (its platform's machine user, by token) or the system admin."""

    parser_classes = [JSONParser]

    @extend_schema(
        request=CompletionsIn,
        parameters=[BASE_CODE],
        responses={200: CompletionReportOut,
                   # {"detail", "code"} for a refused call (not an online base, over 5,000 rows), or the fields
                   # of a malformed body ({"rows": ["…"]}); either way nothing was written.
                   400: OpenApiResponse(ERROR_RESPONSES[400].response,
                                        description="整次请求被拒绝（非网络基地、超过 5,000 行，或请求格式有误），未写入任何记录"),
                   403: OpenApiResponse(ErrorOut, description="角色无权报送 / role may not post"),
                   404: OpenApiResponse(ErrorOut, description="基地不存在或不可见 / base not found")},
        examples=[REQUEST_EXAMPLE, RESPONSE_EXAMPLE],
        summary="网络基地报送学习完成记录（W1）/ the online platform reports completions",
        description="逐行检查：身份证号、姓名、课程（完成日期所在年度的网络课程）、学时、完成日期、培训范围（B5）。"
                    "按 (基地, 平台记录号) 幂等：重试的行报告为 unchanged；同一记录号内容不同则退回该行。"
                    f"每次最多 {MAX_ROWS} 行。",
    )
    def post(self, request, code: str):
        user = request.user
        if user.role not in (Role.BASE_STAFF, Role.SYSTEM_ADMIN):
            raise PermissionDenied(_("只有网络基地工作人员可以报送学习完成记录"))
        # Base staff see only their own base: another base's code is a 404, like an unknown one.
        base = get_visible_or_404(user, TrainingBase, code=code)
        data = CompletionsIn(data=request.data)
        data.is_valid(raise_exception=True)
        report = completions_record(base=base, rows=data.validated_data["rows"],
                                    request_id=data.validated_data["request_id"], by=user)
        return Response(CompletionReportOut(report.as_dict()).data)
