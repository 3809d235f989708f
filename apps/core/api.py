"""One place that turns domain and validation errors into API responses."""
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)


# --- what the errors above look like, for the OpenAPI schema (drf-spectacular) --------------------------------

_ERROR_DETAIL = inline_serializer("ErrorDetail", {
    "detail": serializers.CharField(), "code": serializers.CharField(required=False),
    "field": serializers.CharField(required=False), "rule": serializers.CharField(required=False)})
# A refused parameter or body: {"year": ["…"]}, {"detail": "…", "code": …}, or for a list of rows {"rows": {…}}.
_INVALID = {"type": "object", "minProperties": 1, "additionalProperties": {
    "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}, {"type": "object"}]}}
ERROR_RESPONSES = {
    400: OpenApiResponse(_INVALID, description="参数或请求内容有误（逐项说明）/ invalid parameters or body"),
    403: OpenApiResponse(_ERROR_DETAIL, description="未登录、令牌无效或角色无权操作 / not authenticated or not allowed"),
    404: OpenApiResponse(_ERROR_DETAIL, description="不存在或不在可见范围内 / not found or outside the caller's scope"),
}


def with_errors(ok, *codes: int) -> dict:
    """`responses=` for extend_schema: the success body and the error bodies the exception handler gives."""
    return {200: ok, **{code: ERROR_RESPONSES[code] for code in codes}}
