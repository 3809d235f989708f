from django.contrib import admin

from apps.accounts.scoped_admin import ReadOnlyScopedAdmin as ReadOnlyAdmin

from .models import ActivityReport, ExamResult, ReviewDecision, OnlineCompletion, Registration, ResultUpload, Submission, SubmissionItem, TrainingClass


@admin.register(TrainingClass)
class TrainingClassAdmin(ReadOnlyAdmin):
    list_display = ("code", "course", "base", "starts_on", "capacity", "registered", "organiser", "status")
    list_filter = ("year", "status", "organiser", "base")
    search_fields = ("code", "course__title")
    list_select_related = ("course", "base")


@admin.register(Registration)
class RegistrationAdmin(ReadOnlyAdmin):
    list_display = ("person", "training_class", "unit", "channel", "created_at")
    list_filter = ("channel",)
    search_fields = ("person__name", "training_class__code")
    list_select_related = ("person", "training_class", "unit")


@admin.register(ExamResult)
class ExamResultAdmin(ReadOnlyAdmin):
    list_display = ("registration", "score", "passed", "completed_on", "upload")
    list_filter = ("passed",)


@admin.register(ResultUpload)
class ResultUploadAdmin(ReadOnlyAdmin):
    list_display = ("file_name", "base", "status", "total_rows", "new_rows", "error_rows", "created_at")
    list_filter = ("status", "base")


@admin.register(OnlineCompletion)
class OnlineCompletionAdmin(ReadOnlyAdmin):
    list_display = ("platform_record_id", "person", "course", "hours", "completed_on", "passed", "received_at")
    list_filter = ("passed", "base")
    search_fields = ("platform_record_id", "person__name")


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdmin):
    list_display = ("number", "base", "status", "created_at", "submitted_at")
    list_filter = ("status", "base")


@admin.register(SubmissionItem)
class SubmissionItemAdmin(ReadOnlyAdmin):
    list_display = ("submission", "person", "course", "hours", "completed_on", "certificate_no")
    search_fields = ("certificate_no", "learning_record_no", "person__name")


@admin.register(ReviewDecision)
class ReviewDecisionAdmin(ReadOnlyAdmin):
    list_display = ("item", "outcome", "reason", "decided_by", "decided_at")
    list_filter = ("outcome",)
    search_fields = ("item__certificate_no", "item__person__name")


@admin.register(ActivityReport)
class ActivityReportAdmin(ReadOnlyAdmin):
    list_display = ("person", "kind", "title", "activity_date", "status", "hours")
    list_filter = ("status", "kind", "year")
    search_fields = ("title", "person__name")
