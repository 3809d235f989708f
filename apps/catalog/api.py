from rest_framework import serializers

from apps.accounts.scoped_api import ScopedReadOnlyViewSet

from .models import Course, PolicyRequirement, YearPolicy


class RequirementSerializer(serializers.ModelSerializer):
    class Meta:
        model = PolicyRequirement
        fields = ["level", "total_hours", "public_hours", "public_required_hours", "professional_hours"]


class YearPolicySerializer(serializers.ModelSerializer):
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)
    requirements = RequirementSerializer(many=True, read_only=True)

    class Meta:
        model = YearPolicy
        fields = ["id", "year", "region", "title", "minutes_per_hour", "hours_per_credit",
                  "registration_deadline", "promotion_min_level", "requirements"]


class CourseSerializer(serializers.ModelSerializer):
    industry = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)  # public courses

    class Meta:
        model = Course
        fields = ["id", "code", "title", "category", "hours", "credits", "mode", "year", "industry", "is_active"]


class YearPolicyViewSet(ScopedReadOnlyViewSet):
    """年度政策：各级别学时要求（R1–R4、R8）。"""

    queryset = YearPolicy.objects.select_related("region").prefetch_related("requirements")
    serializer_class = YearPolicySerializer
    filterset_fields = ["year"]


class CourseViewSet(ScopedReadOnlyViewSet):
    """课程目录。"""

    queryset = Course.objects.select_related("industry")
    serializer_class = CourseSerializer
    filterset_fields = ["year", "category", "mode", "is_active"]
