"""Class pages (W2, W4): a base schedules its classes and reads their rosters; a unit registers its people into
open classes, by ticking or by uploading a list of ID numbers; a county bureau schedules county public-subject
classes at its own bases.

The views check the role, fetch through `visibility`, and call `services.class_create` /
`services.registrations_add`; every rule (scope B2–B5, W4, the W2 deadline, capacity) is the services' and comes
back as a DomainError that the page shows where it belongs.
"""
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.accounts.models import Role
from apps.accounts.visibility import get_visible_or_404, sees_full_id, visible
from apps.auditlog.services import record_full_ids
from apps.bases.models import TrainingBase
from apps.catalog.models import Course, IndustryPlan, Mode
from apps.core.errors import Conflict, DomainError, NotVisible
from apps.core.importing import ImportFileError, ResidentIdWidget, normalise_cell, normalise_header, read_dataset
from apps.personnel.models import Person

from .. import services
from ..models import Registration, TrainingClass

PAGE_SIZE = 50
ID_COLUMN = "身份证号"
UPLOAD_SUFFIXES = (".xlsx", ".csv")
MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # a unit's list of ID numbers is a few kilobytes; this only stops accidents


def _require(request, *roles: str) -> None:
    if request.user.role not in roles:
        raise PermissionDenied


def _get(user, qs, **lookup):
    try:
        return get_visible_or_404(user, qs, **lookup)
    except NotVisible:
        raise Http404 from None


def _page(request, qs):
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _catalogue_year(request) -> int:
    """The year whose catalogue the form offers: ?year=, else this year if it has a catalogue, else the latest."""
    years = sorted(set(Course.objects.filter(is_active=True).values_list("year", flat=True)))
    wanted = request.GET.get("year") or request.POST.get("year")
    if wanted and wanted.isdigit() and int(wanted) in years:
        return int(wanted)
    this_year = timezone.localdate().year
    return this_year if this_year in years or not years else years[-1]


# --- forms -----------------------------------------------------------------------------------------------------


class CourseChoiceField(forms.ModelChoiceField):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, empty_label=gettext_lazy("请选择"), **kwargs)

    def label_from_instance(self, obj: Course) -> str:
        return f"{obj.code} {obj.title}（{obj.get_category_display()} · {obj.get_mode_display()}）"


class ClassForm(forms.Form):
    """The fields of `services.class_create`; the rules are checked there, not here."""

    year = forms.IntegerField(widget=forms.HiddenInput, required=False)
    course = CourseChoiceField(label=gettext_lazy("课程"), queryset=Course.objects.none())
    code = forms.CharField(label=gettext_lazy("班次编号"), max_length=40)
    starts_on = forms.DateField(label=gettext_lazy("开班日期"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=gettext_lazy("结业日期"), widget=forms.DateInput(attrs={"type": "date"}))
    capacity = forms.IntegerField(label=gettext_lazy("名额"), min_value=1)
    fee = forms.DecimalField(label=gettext_lazy("收费标准（元/人）"), min_value=0, max_digits=8, decimal_places=2,
                             required=False, help_text=gettext_lazy("留空则按年度政策的统一收费标准（B6）"))
    place = forms.CharField(label=gettext_lazy("培训地点"), max_length=200, required=False)
    plan = forms.ModelChoiceField(label=gettext_lazy("行业专业科目计划"), queryset=IndustryPlan.objects.none(),
                                  required=False, empty_label=gettext_lazy("（公需科目不选）"), help_text=gettext_lazy("仅专业科目须选择已备案的行业计划（R12）"))

    def __init__(self, *args, user, year: int, mode: str = Mode.FACE_TO_FACE, public_only: bool = False,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].initial = year
        # The year's active catalogue, as far as this kind of base can run it (a classroom runs face-to-face
        # courses); whether the base is approved for the subject is the service's question (B5), answered on the
        # field so the staff see why.
        courses = Course.objects.filter(year=year, is_active=True, mode=mode).order_by("code")
        if public_only:
            courses = courses.exclude(category="professional")
            del self.fields["plan"]
        else:
            self.fields["plan"].queryset = visible(user, IndustryPlan).filter(year=year)
        self.fields["course"].queryset = courses


class CountyClassForm(ClassForm):
    base = forms.ModelChoiceField(
        label=gettext_lazy("培训基地"), queryset=TrainingBase.objects.none(), empty_label=gettext_lazy("请选择"),
        error_messages={"invalid_choice": gettext_lazy("只能在本县（区）的基地或受委托的市级基地组织公需科目培训（W4）")})
    field_order = ["base", "course"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, public_only=True, **kwargs)
        # A county bureau sees its own bases and the city bases it delegated to (B4); the service checks W4 again.
        self.fields["base"].queryset = (visible(user, TrainingBase)
                                        .filter(is_active=True, kind=TrainingBase.Kind.FACE_TO_FACE)
                                        .order_by("level", "code"))


def _create_class(request, form: ClassForm, *, base: TrainingBase, organised_by=None) -> TrainingClass | None:
    data = form.cleaned_data
    try:
        return services.class_create(
            base=base, course=data["course"], code=data["code"], starts_on=data["starts_on"],
            ends_on=data["ends_on"], capacity=data["capacity"], fee=data.get("fee"), place=data["place"],
            organised_by=organised_by, plan=data.get("plan"), by=request.user)
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        return None


# --- training base staff ----------------------------------------------------------------------------------------


@login_required
def base_classes(request):
    """本基地班次."""
    _require(request, Role.BASE_STAFF)
    qs = (visible(request.user, TrainingClass).filter(base=request.user.base_id)
          .select_related("course", "base").order_by("-starts_on", "code"))
    return render(request, "enrollment/classes/base_list.html", {
        "base": request.user.base, "page_obj": _page(request, qs), "today": timezone.localdate()})


@login_required
def class_new(request):
    """新建班次 (base staff): the course must be in the base's approved scope (B5), professional under a plan."""
    _require(request, Role.BASE_STAFF)
    base = request.user.base
    year = _catalogue_year(request)
    mode = Mode.ONLINE if base.kind == TrainingBase.Kind.ONLINE else Mode.FACE_TO_FACE
    form = ClassForm(request.POST or None, user=request.user, year=year, mode=mode)
    if request.method == "POST" and form.is_valid():
        created = _create_class(request, form, base=base)
        if created is not None:
            messages.success(request, _("已新建班次 %(code)s，报名截止日期 %(d)s")
                             % {"code": created.code, "d": created.registration_deadline})
            return redirect("enrollment:class_roster", pk=created.pk)
    return render(request, "enrollment/classes/class_form.html", {
        "form": form, "year": year, "heading": _("新建班次"), "base": base,
        "back": "enrollment:base_classes"})


@dataclass(frozen=True)
class RosterRow:
    registration: Registration
    id_number: str
    result: object  # ExamResult | None


def _roster_class(request, pk: int) -> TrainingClass:
    user = request.user
    qs = TrainingClass.objects.select_related("course", "base", "organised_by")
    if user.role == Role.COUNTY_BUREAU:
        # A county bureau reads the rosters of its county's classes: organised by it or held at its bases.
        qs = qs.filter(Q(organised_by=user.region_id) | Q(base__region=user.region_id))
    elif user.role == Role.CITY_BUREAU:
        # The timetable is public, a roster is not: the city bureau reads those of the bases it supervises.
        qs = qs.filter(base__in=visible(user, TrainingBase))
    return _get(user, qs, pk=pk)


@login_required
def class_roster(request, pk: int):
    """班次名单: who is registered, with results once the base recorded them."""
    _require(request, Role.BASE_STAFF, Role.COUNTY_BUREAU, Role.CITY_BUREAU, Role.SYSTEM_ADMIN)
    cls = _roster_class(request, pk)
    full = sees_full_id(request.user)
    regs = (visible(request.user, Registration).filter(training_class=cls)
            .select_related("person", "unit", "result").order_by("created_at", "id"))
    page_obj = _page(request, regs)
    rows = [RosterRow(r, r.person.id_number if full else r.person.masked_id, getattr(r, "result", None))
            for r in page_obj]
    if full:
        record_full_ids(request, page="class_roster", target=cls, person_ids=[r.person_id for r in page_obj])
    back = {Role.BASE_STAFF: "enrollment:base_classes", Role.COUNTY_BUREAU: "enrollment:county_classes"}
    return render(request, "enrollment/classes/roster.html", {
        "cls": cls, "rows": rows, "page_obj": page_obj, "back": back.get(request.user.role)})


# --- unit admins ---------------------------------------------------------------------------------------------


def _open_classes(today):
    return (TrainingClass.objects.filter(status=TrainingClass.Status.OPEN, registration_deadline__gte=today)
            .select_related("course", "base", "organised_by").order_by("registration_deadline", "starts_on", "code"))


@login_required
def open_classes(request):
    """可报名班次: every open class whose deadline has not passed (classes are a public timetable)."""
    _require(request, Role.UNIT_ADMIN)
    today = timezone.localdate()
    qs = _open_classes(today).filter(pk__in=visible(request.user, TrainingClass).values("pk"))
    return render(request, "enrollment/classes/open_list.html", {"page_obj": _page(request, qs), "today": today})


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("人员名单文件（.xlsx 或 .csv）"),
                           help_text=gettext_lazy("第一行为表头，须有“身份证号”一列；身份证号列请设为文本格式"))

    def clean_file(self):
        f = self.cleaned_data["file"]
        if Path(f.name).suffix.lower() not in UPLOAD_SUFFIXES:
            raise ValidationError(_("不支持的文件类型：请上传 .xlsx 或 .csv（UTF-8 编码）文件"))
        if f.size > MAX_UPLOAD_BYTES:
            raise ValidationError(_("文件过大（超过 5 MB）"))
        return f


@dataclass(frozen=True)
class RowProblem:
    row: int
    value: str
    message: str


def _ids_from_upload(user, upload) -> tuple[list[int], list[RowProblem], str]:
    """The people an uploaded list names, or the rows that are wrong (row numbers as the clerk sees them: the
    header is row 1). Returns (person ids, problems, file-level error)."""
    suffix = Path(upload.name).suffix.lower()
    with tempfile.TemporaryDirectory() as tmp:
        file_path = Path(tmp) / f"upload{suffix}"
        with file_path.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        try:
            dataset = read_dataset(file_path)
        except ImportFileError as exc:
            return [], [], str(exc.message)
    headers = [normalise_header(h) for h in (dataset.headers or [])]
    if ID_COLUMN not in headers:
        return [], [], _("文件第 1 行须有“%(col)s”列") % {"col": ID_COLUMN}
    col = headers.index(ID_COLUMN)
    widget = ResidentIdWidget()
    numbers: dict[str, int] = {}  # ID number -> first row
    problems: list[RowProblem] = []
    for i, row in enumerate(dataset, start=2):
        raw = row[col]
        if all(normalise_cell(v) == "" for v in row):
            continue  # a blank line is not a person
        shown = str(normalise_cell(raw))
        try:
            number = widget.parse(raw).number
        except ValidationError as exc:
            problems.append(RowProblem(i, shown, exc.messages[0]))
            continue
        except ValueError as exc:
            problems.append(RowProblem(i, shown, str(exc)))
            continue
        if number in numbers:
            problems.append(RowProblem(i, shown, _("与第 %(row)d 行重复") % {"row": numbers[number]}))
            continue
        numbers[number] = i
    if not numbers and not problems:
        return [], [], _("文件中没有人员：请在“%(col)s”列填写身份证号") % {"col": ID_COLUMN}
    found = dict(visible(user, Person).filter(id_number__in=list(numbers)).values_list("id_number", "pk"))
    for number, row in numbers.items():
        if number not in found:
            # Someone of another unit is indistinguishable from nobody: a unit sees only its own people.
            problems.append(RowProblem(row, number, _("本单位人员中没有此身份证号（未登记或不属于本单位）")))
    problems.sort(key=lambda p: p.row)
    return [found[n] for n in numbers if n in found], problems, ""


def _register(request, cls: TrainingClass, person_ids: list[int], today) -> dict | None:
    """Call the service; on success set the message and return None, else the context that explains why not."""
    try:
        done = services.registrations_add(training_class_id=cls.pk, person_ids=person_ids, by=request.user,
                                          channel=Registration.Channel.UNIT, today=today)
    except services.RegistrationRefused as exc:
        return {"refusals": exc.refusals}
    except Conflict as exc:  # the class is full (or changed under us)
        messages.error(request, str(exc.message))
        return {}
    except DomainError as exc:  # the deadline has passed, the class is closed, nobody chosen
        messages.error(request, str(exc.message))
        return {}
    messages.success(request, _("已为 %(n)d 人报名班次 %(code)s，该班次还剩 %(left)d 个名额")
                     % {"n": len(done.created), "code": cls.code, "left": done.seats_left})
    return None


@login_required
def class_register(request, pk: int):
    """为本单位人员报名: tick people in the list, or upload a list of ID numbers. All or nobody (W2)."""
    _require(request, Role.UNIT_ADMIN)
    cls = _get(request.user, TrainingClass.objects.select_related("course", "base", "organised_by"), pk=pk)
    today = timezone.localdate()
    is_open = cls.status == TrainingClass.Status.OPEN and today <= cls.registration_deadline
    extra: dict = {}
    upload_form = UploadForm()
    if request.method == "POST":
        action = request.POST.get("action")
        person_ids: list[int] | None = None
        if action == "upload":
            upload_form = UploadForm(request.POST, request.FILES)
            if upload_form.is_valid():
                ids, problems, file_error = _ids_from_upload(request.user, upload_form.cleaned_data["file"])
                if file_error:
                    upload_form.add_error("file", file_error)
                elif problems:
                    extra["row_problems"] = problems
                    messages.error(request, _("文件中有 %(n)d 行不能报名，本次未报名任何人，请改正后重新上传")
                                   % {"n": len(problems)})
                else:
                    person_ids = ids
        elif action == "tick":
            chosen = [int(v) for v in request.POST.getlist("person") if v.isdigit()]
            # Only the unit's own people can be ticked; anything else in the POST is somebody else's business.
            person_ids = list(visible(request.user, Person).filter(pk__in=chosen).values_list("pk", flat=True))
            if len(person_ids) != len(set(chosen)):
                raise Http404
            if not person_ids:
                messages.error(request, _("请至少勾选一名人员"))
        else:
            raise PermissionDenied
        if person_ids:
            extra = _register(request, cls, person_ids, today)
            if extra is None:
                return redirect("enrollment:class_register", pk=cls.pk)
            cls.refresh_from_db()
    q = (request.GET.get("q") or "").strip()
    people = visible(request.user, Person).select_related("unit").order_by("name", "id")
    if q:
        people = people.filter(name__icontains=q)
    page_obj = _page(request, people)
    already = set(Registration.objects.filter(training_class=cls, person__in=[p.pk for p in page_obj])
                  .values_list("person_id", flat=True))
    return render(request, "enrollment/classes/register.html", {
        "cls": cls, "is_open": is_open, "page_obj": page_obj, "q": q, "already": already,
        "upload_form": upload_form, "full_id": sees_full_id(request.user), **extra})


@login_required
def unit_registrations(request):
    """本单位报名记录: the unit's people in classes, and their results."""
    _require(request, Role.UNIT_ADMIN)
    qs = (visible(request.user, Registration)
          .select_related("person", "training_class__course", "training_class__base", "result")
          .order_by("-created_at", "-id"))
    page_obj = _page(request, qs)
    full = sees_full_id(request.user)
    rows = [RosterRow(r, r.person.id_number if full else r.person.masked_id, getattr(r, "result", None))
            for r in page_obj]
    if full:
        record_full_ids(request, page="unit_registrations", person_ids=[r.person_id for r in page_obj])
    return render(request, "enrollment/classes/unit_registrations.html", {"rows": rows, "page_obj": page_obj})


# --- county bureaus (W4) ---------------------------------------------------------------------------------------


@login_required
def county_classes(request):
    """本县（区）班次: classes the county organised or held at its bases."""
    _require(request, Role.COUNTY_BUREAU)
    region = request.user.region_id
    qs = (visible(request.user, TrainingClass).filter(Q(organised_by=region) | Q(base__region=region))
          .select_related("course", "base", "organised_by").order_by("-starts_on", "code"))
    return render(request, "enrollment/classes/county_list.html", {
        "region": request.user.region, "page_obj": _page(request, qs), "today": timezone.localdate()})


@login_required
def county_class_new(request):
    """组织县级公需科目培训 (W4): a public-subject class organised by the county at one of its bases."""
    _require(request, Role.COUNTY_BUREAU)
    year = _catalogue_year(request)
    form = CountyClassForm(request.POST or None, user=request.user, year=year)
    if request.method == "POST" and form.is_valid():
        created = _create_class(request, form, base=form.cleaned_data["base"], organised_by=request.user.region)
        if created is not None:
            messages.success(request, _("已安排班次 %(code)s（%(base)s），报名截止日期 %(d)s")
                             % {"code": created.code, "base": created.base.name, "d": created.registration_deadline})
            return redirect("enrollment:county_classes")
    return render(request, "enrollment/classes/class_form.html", {
        "form": form, "year": year, "heading": _("组织县级公需科目培训"), "base": None,
        "back": "enrollment:county_classes"})


# --- trainees (R13) ------------------------------------------------------------------------------------------


@login_required
def trainee_classes(request):
    """专业科目直接报名: a professional registers themself for a base's open professional course (R13)."""
    _require(request, Role.TRAINEE)
    today = timezone.localdate()
    if request.method == "POST":
        cls = _get(request.user, _open_classes(today).filter(course__category="professional"),
                   pk=request.POST.get("class"))
        try:
            services.registrations_add(training_class_id=cls.pk, person_ids=[request.user.person_id],
                                       by=request.user, channel=Registration.Channel.SELF, today=today)
        except services.RegistrationRefused as exc:
            messages.error(request, exc.refusals[0].message)
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("已报名班次 %(code)s %(title)s") % {"code": cls.code, "title": cls.course.title})
        return redirect("enrollment:trainee_classes")
    qs = _open_classes(today).filter(course__category="professional")
    mine = set(Registration.objects.filter(person_id=request.user.person_id).values_list("training_class_id",
                                                                                          flat=True))
    return render(request, "enrollment/classes/trainee_list.html",
                  {"page_obj": _page(request, qs), "mine": mine, "today": today})


urlpatterns = [
    path("my/classes/", trainee_classes, name="trainee_classes"),
    path("base/classes/", base_classes, name="base_classes"),
    path("base/classes/new/", class_new, name="class_new"),
    path("classes/<int:pk>/roster/", class_roster, name="class_roster"),
    path("unit/classes/", open_classes, name="open_classes"),
    path("classes/<int:pk>/register/", class_register, name="class_register"),
    path("unit/registrations/", unit_registrations, name="unit_registrations"),
    path("county/classes/", county_classes, name="county_classes"),
    path("county/classes/new/", county_class_new, name="county_class_new"),
]
