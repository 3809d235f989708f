"""行业专业科目计划 pages (W3, R12): an industry department lists, drafts and files its plans and sees the bureau's
answer; the city bureau lists filed plans and acknowledges or returns them with a reason.

Roles are checked first (403); plans are fetched through `visibility` (another department's plan is a 404); each
action calls one service of apps.catalog.services and redirects, a refusal shown as a message.
"""
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.models import Role
from apps.accounts.visibility import get_visible_or_404, visible
from apps.catalog import services
from apps.catalog.models import Category, Course, IndustryPlan
from apps.core.errors import DomainError, NotVisible

DEPARTMENT = {Role.INDUSTRY_DEPT}
BUREAU = set(services.REVIEWERS)


def _role(user, roles: set) -> None:
    if user.role not in roles:
        raise PermissionDenied


def _plan(user, pk: int) -> IndustryPlan:
    try:
        return get_visible_or_404(user, IndustryPlan.objects.select_related("department__industry", "reviewed_by"),
                                  pk=pk)
    except NotVisible:
        raise Http404 from None


class PlanForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("计划名称"), max_length=200)
    year = forms.IntegerField(label=gettext_lazy("年度"), min_value=1990, max_value=2100)
    starts_on = forms.DateField(label=gettext_lazy("开始日期"), input_formats=["%Y-%m-%d"],
                                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    ends_on = forms.DateField(label=gettext_lazy("结束日期"), input_formats=["%Y-%m-%d"],
                              widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    courses = forms.ModelMultipleChoiceField(label=gettext_lazy("专业科目课程"), queryset=Course.objects.none(),
                                             widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, department, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the department's own industry's professional courses are offered; the service checks it again.
        self.fields["courses"].queryset = Course.objects.filter(
            category=Category.PROFESSIONAL, industry=department.industry_id, is_active=True).order_by("-year", "code")


class ReturnForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("退回原因"), max_length=services.RETURN_REASON_MAX,
                             widget=forms.Textarea(attrs={"rows": 3}))


@login_required
def plan_list(request):
    user = request.user
    if user.role in DEPARTMENT:
        plans = visible(user, IndustryPlan).order_by("-year", "-pk")
        return render(request, "enrollment/plans/list.html", {"plans": plans, "department": user.department,
                                                               "as_department": True})
    _role(user, BUREAU)
    filed = visible(user, IndustryPlan).filter(status=IndustryPlan.Status.FILED).select_related("department")
    recent = (visible(user, IndustryPlan).exclude(status__in=[IndustryPlan.Status.FILED, IndustryPlan.Status.DRAFT])
              .select_related("department").order_by("-reviewed_at", "-pk")[:50])
    return render(request, "enrollment/plans/list.html", {"plans": filed.order_by("filed_at", "pk"),
                                                           "recent": recent, "as_department": False})


@login_required
@require_http_methods(["GET", "POST"])
def plan_create(request):
    _role(request.user, DEPARTMENT)
    department = request.user.department
    form = PlanForm(request.POST or None, department=department,
                    initial={"year": timezone.localdate().year})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            plan = services.plan_create(department=department, title=data["title"], year=data["year"],
                                        starts_on=data["starts_on"], ends_on=data["ends_on"],
                                        course_ids=[c.pk for c in data["courses"]], by=request.user)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            messages.success(request, _("计划“%(title)s”已保存为草稿，报备后由市人社局确认") % {"title": plan.title})
            return redirect("enrollment:plan_detail", plan.pk)
    return render(request, "enrollment/plans/form.html", {"form": form, "department": department})


@login_required
def plan_detail(request, pk: int):
    user = request.user
    _role(user, DEPARTMENT | BUREAU)
    plan = _plan(user, pk)
    return render(request, "enrollment/plans/detail.html", {
        "plan": plan, "courses": plan.courses.order_by("code"),
        "as_department": user.role in DEPARTMENT, "as_bureau": user.role in BUREAU,
        "may_file": user.role in DEPARTMENT and plan.status in (IndustryPlan.Status.DRAFT,
                                                                IndustryPlan.Status.RETURNED),
        "may_review": user.role in BUREAU and plan.status == IndustryPlan.Status.FILED,
        "return_form": ReturnForm(),
    })


def _transition(request, pk: int, roles, change, done: str):
    """One state change of a plan: check the role and scope, call the service, report, back to the plan."""
    _role(request.user, roles)
    plan = _plan(request.user, pk)
    try:
        change(plan_id=plan.pk, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done % {"title": plan.title})
    return redirect("enrollment:plan_detail", plan.pk)


@login_required
@require_POST
def plan_file(request, pk: int):
    return _transition(request, pk, DEPARTMENT, services.plan_file, _("计划“%(title)s”已报备，等待市人社局确认"))


@login_required
@require_POST
def plan_acknowledge(request, pk: int):
    return _transition(request, pk, BUREAU, services.plan_acknowledge, _("计划“%(title)s”已确认备案"))


@login_required
@require_POST
def plan_return(request, pk: int):
    form = ReturnForm(request.POST)
    if not form.is_valid():
        _role(request.user, BUREAU)
        messages.error(request, _("退回须填写原因"))
        return redirect("enrollment:plan_detail", _plan(request.user, pk).pk)
    reason = form.cleaned_data["reason"]
    return _transition(request, pk, BUREAU,
                       lambda plan_id, by: services.plan_return(plan_id=plan_id, reason=reason, by=by),
                       _("计划“%(title)s”已退回"))


urlpatterns = [
    path("plans/", plan_list, name="plan_list"),
    path("plans/new/", plan_create, name="plan_create"),
    path("plans/<int:pk>/", plan_detail, name="plan_detail"),
    path("plans/<int:pk>/file/", plan_file, name="plan_file"),
    path("plans/<int:pk>/acknowledge/", plan_acknowledge, name="plan_acknowledge"),
    path("plans/<int:pk>/return/", plan_return, name="plan_return"),
]
