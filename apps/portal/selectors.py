"""What each role's home page shows: figures and lists read through `visibility`, so a page can never count
or list more than the user may see, and links to the places where the work is done today (the admin, the API)."""
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import Role, User
from apps.accounts.visibility import visible
from apps.bases.models import CountyDelegation, TrainingBase
from apps.catalog.models import Category, Course, YearPolicy
from apps.orgs.models import Region, Unit
from apps.personnel.models import Person, PromotionApplication, TitleHolding

# How many rows a home page lists before pointing to the full list in the admin.
LIST_LIMIT = 10


@dataclass(frozen=True)
class Figure:
    key: str  # stable name, used by tests and CSS (data-figure="…")
    label: str
    value: int
    url: str = ""


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    note: str = ""


@dataclass
class Home:
    template: str
    intro: list = field(default_factory=list)  # what this role does here, one sentence each
    figures: list[Figure] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    coming: list = field(default_factory=list)  # later features, named without links
    extra: dict = field(default_factory=dict)

    def context(self) -> dict:
        return {"intro": self.intro, "figures": self.figures, "links": self.links, "coming": self.coming,
                **self.extra}


def _admin_url(user: User, name: str, *args) -> str:
    """An admin URL for staff logins; "" for others, whose links are then left out (the admin would refuse them)."""
    if not (user.is_active and user.is_staff):
        return ""
    return reverse(f"admin:{name}", args=args)


def _links(*links: Link) -> list[Link]:
    return [link for link in links if link.url]


def _api_docs() -> Link:
    return Link(_("API 接口文档"), reverse("api-docs"), _("供基地和单位系统对接使用"))


def _admin_home(user: User) -> Link:
    return Link(_("管理后台首页"), _admin_url(user, "index"), _("本角色可管理的全部数据"))


def current_policy(user: User) -> YearPolicy | None:
    """The newest year's policy of this installation's city (R8: every figure is a year's data)."""
    return (visible(user, YearPolicy).filter(region__code=settings.PORTAL_CITY_CODE)
            .prefetch_related("requirements").order_by("-year").first())


def home_for(user: User) -> Home:
    return _BUILDERS[user.role](user)


def _trainee(user: User) -> Home:
    person = visible(user, Person).select_related("unit__region").get(pk=user.person_id)
    titles = list(visible(user, TitleHolding).filter(person=person).order_by("-obtained_on"))
    current = titles[0] if titles else None
    policy = current_policy(user)
    requirement = None
    if policy and current:
        requirement = next((r for r in policy.requirements.all() if r.level == current.level), None)
    return Home(
        template="portal/home/trainee.html",
        intro=[
            _("每个自然年度须按当年政策完成规定学时的继续教育，其中公需科目学时按职称级别要求。"),
            _("在这里查看个人档案、已认证学时、尚缺的学时和继续教育证书。"),
        ],
        links=_links(Link(_("我的学时"), reverse("ledger:my_hours"), _("已认证学时、差距与选课建议")),
                     Link(_("专业科目报名"), reverse("enrollment:trainee_classes"), _("直接报名基地的专业科目培训")),
                     Link(_("学时申报"), reverse("enrollment:activity_mine"), _("学术会议、科研项目、论文等，附证明材料")),
                     _api_docs()),
        coming=[],
        extra={
            "person": person,
            "titles": titles,
            "current_title": current,
            "promotions": visible(user, PromotionApplication).filter(person=person).order_by("-year"),
            "policy": policy,
            "requirement": requirement,
        },
    )


def _unit_admin(user: User) -> Home:
    people = visible(user, Person)
    return Home(
        template="portal/home/unit_admin.html",
        intro=[
            _("登记和维护本单位专业技术人员的信息、职称记录和晋升申报。"),
            _("在报名截止日期前为本单位人员集中报名面授公需科目培训。"),
        ],
        figures=[
            Figure("people", _("本单位专业技术人员"), people.count(),
                   _admin_url(user, "personnel_person_changelist")),
            Figure("titles", _("职称记录"), visible(user, TitleHolding).count(),
                   _admin_url(user, "personnel_titleholding_changelist")),
            Figure("promotions", _("晋升申报"), visible(user, PromotionApplication).count(),
                   _admin_url(user, "personnel_promotionapplication_changelist")),
        ],
        links=_links(
            Link(_("学时申报审核"), reverse("enrollment:activity_unit_queue"), _("核实本单位人员申报的学时")),
            Link(_("面授培训报名"), reverse("enrollment:open_classes"), _("勾选或上传本单位人员，截止日期前报名")),
            Link(_("本单位报名与成绩"), reverse("enrollment:unit_registrations")),
            Link(_("学时资格查询"), reverse("eligibility:check"), _("按身份证号查询各年度是否达标及 R6 限制事项（每次查询留痕）")),
            Link(_("专业技术人员名册"), _admin_url(user, "personnel_person_changelist"), _("查看、搜索、修改本单位人员")),
            Link(_("登记新人员"), _admin_url(user, "personnel_person_add"), _("身份证号自动校验")),
            Link(_("职称记录"), _admin_url(user, "personnel_titleholding_changelist")),
            Link(_("晋升申报"), _admin_url(user, "personnel_promotionapplication_changelist")),
            Link(_("本单位信息"), _admin_url(user, "orgs_unit_change", user.unit_id)),
            _api_docs(),
        ),
        coming=[_("本单位学时完成情况汇总")],
        extra={
            "unit": Unit.objects.select_related("region", "industry").get(pk=user.unit_id),
            "people_list": people.order_by("name")[:LIST_LIMIT],
            "policy": current_policy(user),
        },
    )


def _base_staff(user: User) -> Home:
    base = visible(user, TrainingBase).select_related("region", "approved_by").get(pk=user.base_id)
    delegations = visible(user, CountyDelegation).select_related("county").order_by("county__code")
    return Home(
        template="portal/home/base_staff.html",
        intro=[
            _("在批准的培训范围内开班、组织培训和考核。"),
            _("上传考核结果，提交市人社局审核认证；认证后学时才计入学员的继续教育记录。"),
        ],
        figures=[
            Figure("delegations", _("委托本基地的县（区）"), delegations.count(),
                   _admin_url(user, "bases_countydelegation_changelist")),
            Figure("courses", _("可开设的课程"), _courses_for_base(user, base).count(),
                   _admin_url(user, "catalog_course_changelist")),
        ],
        links=_links(
            Link(_("班次与学员名单"), reverse("enrollment:base_classes"), _("开班、查看报名名单和成绩")),
            Link(_("新建班次"), reverse("enrollment:class_new")),
            Link(_("考核成绩上传"), reverse("enrollment:result_uploads"), _("先检查、再确认；错误行可下载")),
            Link(_("上报审核认证"), reverse("enrollment:submission_list"), _("合格学员的学习档案与合格证书，分批上报市人社局")),
            Link(_("合格证书批量生成"), reverse("certificates:batches"), _("已认证批次的合格证书，后台生成后打包下载")),
            Link(_("本基地信息与培训范围"), _admin_url(user, "bases_trainingbase_change", base.pk)),
            Link(_("县区委托"), _admin_url(user, "bases_countydelegation_changelist")),
            Link(_("课程目录"), _admin_url(user, "catalog_course_changelist")),
            _api_docs(),
        ),
        coming=[],
        extra={"base": base, "delegations": delegations},
    )


def _courses_for_base(user: User, base: TrainingBase):
    """Active courses of the subjects and mode this base is approved for (B5: it works only within its scope)."""
    categories = [*(Category.public() if base.serves_public else ()),
                  *((Category.PROFESSIONAL,) if base.serves_professional else ())]
    return visible(user, Course).filter(is_active=True, mode=base.kind, category__in=categories)


def _industry_dept(user: User) -> Home:
    department = user.department
    return Home(
        template="portal/home/industry_dept.html",
        intro=[
            _("制定本行业专业科目的继续教育计划和内容。"),
            _("计划须在实施前报人社局备案。"),
        ],
        figures=[
            Figure("units", _("本行业单位"), visible(user, Unit).count(), _admin_url(user, "orgs_unit_changelist")),
            Figure("courses", _("本行业专业科目课程"),
                   visible(user, Course).filter(category=Category.PROFESSIONAL,
                                                industry=department.industry_id).count(),
                   _admin_url(user, "catalog_course_changelist")),
        ],
        links=_links(
            Link(_("专业科目培训计划"), reverse("enrollment:plan_list"), _("报市人社局备案后方可开班（R12）")),
            Link(_("新建计划"), reverse("enrollment:plan_create")),
            Link(_("本行业单位"), _admin_url(user, "orgs_unit_changelist")),
            Link(_("课程目录"), _admin_url(user, "catalog_course_changelist")),
            _api_docs(),
        ),
        coming=[_("本行业学时完成情况")],
        extra={"department": department},
    )


def _county_bureau(user: User) -> Home:
    units = visible(user, Unit)
    return Home(
        template="portal/home/county_bureau.html",
        intro=[
            _("组织本县（区）的继续教育和县级公需科目培训，审批县级基地。"),
            _("查看本辖区单位、人员和学时报表。"),
        ],
        figures=[
            Figure("units", _("辖区单位"), units.count(), _admin_url(user, "orgs_unit_changelist")),
            Figure("people", _("辖区专业技术人员"), visible(user, Person).count(),
                   _admin_url(user, "personnel_person_changelist")),
            Figure("bases", _("承担培训的基地"), visible(user, TrainingBase).count(),
                   _admin_url(user, "bases_trainingbase_changelist")),
        ],
        links=_links(
            Link(_("县级公需科目班次"), reverse("enrollment:county_classes"), _("在本县（区）基地组织公需科目培训（W4）")),
            Link(_("合格证书批量生成"), reverse("certificates:batches"), _("本县（区）全年的合格证书，打包下载")),
            Link(_("辖区学时报表"), reverse("reports:county"), _("按单位和职称级别的达标率、未达标人员、年度进度与历年趋势")),
            Link(_("年度考核"), reverse("assessment:index"), _("市人社局年度考核中本县（区）的结果")),
            Link(_("学时资格查询"), reverse("eligibility:check"), _("按身份证号查询各年度是否达标及 R6 限制事项（每次查询留痕）")),
            Link(_("辖区单位"), _admin_url(user, "orgs_unit_changelist")),
            Link(_("辖区专业技术人员"), _admin_url(user, "personnel_person_changelist")),
            Link(_("继续教育基地"), _admin_url(user, "bases_trainingbase_changelist"), _("含本县委托的市级基地")),
            Link(_("县区委托"), _admin_url(user, "bases_countydelegation_changelist")),
            _admin_home(user),
            _api_docs(),
        ),
        coming=[],
        extra={
            "region": user.region,
            "unit_list": units.annotate(people_count=Count("people")).order_by("-people_count", "name")[:LIST_LIMIT],
            "policy": current_policy(user),
        },
    )


def _city_bureau(user: User) -> Home:
    counties = Region.objects.filter(parent=user.region_id, kind=Region.Kind.COUNTY)
    return Home(
        template="portal/home/city_bureau.html",
        intro=[
            _("制定年度计划，统筹、监督和评估全市继续教育工作。"),
            _("审核认证基地上报的学习成绩，年初对各县（区）和单位进行年度考核。"),
        ],
        figures=[
            Figure("counties", _("县（区）"), counties.count(), _admin_url(user, "orgs_region_changelist")),
            Figure("units", _("单位"), visible(user, Unit).count(), _admin_url(user, "orgs_unit_changelist")),
            Figure("people", _("专业技术人员"), visible(user, Person).count(),
                   _admin_url(user, "personnel_person_changelist")),
            Figure("bases", _("继续教育基地"), visible(user, TrainingBase).count(),
                   _admin_url(user, "bases_trainingbase_changelist")),
        ],
        links=_links(
            Link(_("学时申报认定"), reverse("enrollment:activity_bureau_queue"), _("单位核实后的申报，按年度政策认定学时")),
            Link(_("审核认证"), reverse("enrollment:review_queue"), _("基地上报的批次：认证后学时计入台账")),
            Link(_("行业计划备案"), reverse("enrollment:plan_list"), _("确认或退回行业主管部门报备的专业科目计划")),
            Link(_("合格证书批量生成"), reverse("certificates:batches"), _("按上报批次或县区生成合格证书并打包下载")),
            Link(_("工作看板"), reverse("reports:city_dashboard"), _("各县（区）达标情况、基地培训与审核、行业计划、历年考核")),
            Link(_("县区学时报表"), reverse("reports:county"), _("任一县（区）的单位达标率、未达标人员和趋势")),
            Link(_("年度考核"), reverse("assessment:index"), _("计算上一年度考核、评分权重、表彰建议")),
            Link(_("学时资格查询"), reverse("eligibility:check"), _("按身份证号查询各年度是否达标及 R6 限制事项（每次查询留痕）")),
            Link(_("操作日志"), reverse("auditlog:index"), _("登录、认证、退回、冲销、导出、查看完整身份证号等敏感操作的记录")),
            Link(_("年度政策与学时要求"), _admin_url(user, "catalog_yearpolicy_changelist")),
            Link(_("课程目录"), _admin_url(user, "catalog_course_changelist")),
            Link(_("继续教育基地"), _admin_url(user, "bases_trainingbase_changelist")),
            Link(_("单位"), _admin_url(user, "orgs_unit_changelist")),
            Link(_("专业技术人员"), _admin_url(user, "personnel_person_changelist")),
            Link(_("行业主管部门"), _admin_url(user, "orgs_industrydepartment_changelist")),
            _admin_home(user),
            _api_docs(),
        ),
        coming=[],
        extra={
            "region": user.region,
            "county_rows": _county_rows(user, counties),
            "policy": current_policy(user),
        },
    )


def _county_rows(user: User, counties) -> list[dict]:
    """Units and people per county, plus the city-affiliated (市属) units, in two grouped queries."""
    units = visible(user, Unit)
    people = visible(user, Person)
    # order_by(): with distinct(), Meta.ordering would join the GROUP BY and split the counts per name.
    unit_counts = dict(units.order_by().values_list("region").annotate(n=Count("pk")))
    people_counts = dict(people.order_by().values_list("unit__region").annotate(n=Count("pk")))
    rows = [{"name": c.name, "code": c.code, "units": unit_counts.get(c.pk, 0), "people": people_counts.get(c.pk, 0)}
            for c in counties.order_by("code")]
    rows.append({"name": _("市属单位"), "code": user.region.code, "units": unit_counts.get(user.region_id, 0),
                 "people": people_counts.get(user.region_id, 0)})
    return rows


def _system_admin(user: User) -> Home:
    return Home(
        template="portal/home/system_admin.html",
        intro=[_("管理平台的全部数据、用户账号和角色分配。")],
        figures=[
            Figure("users", _("用户"), visible(user, User).count(), _admin_url(user, "accounts_user_changelist")),
            Figure("regions", _("行政区划"), visible(user, Region).count(), _admin_url(user, "orgs_region_changelist")),
            Figure("units", _("单位"), visible(user, Unit).count(), _admin_url(user, "orgs_unit_changelist")),
            Figure("people", _("专业技术人员"), visible(user, Person).count(),
                   _admin_url(user, "personnel_person_changelist")),
            Figure("bases", _("继续教育基地"), visible(user, TrainingBase).count(),
                   _admin_url(user, "bases_trainingbase_changelist")),
            Figure("courses", _("课程"), visible(user, Course).count(), _admin_url(user, "catalog_course_changelist")),
        ],
        links=_links(
            _admin_home(user),
            Link(_("用户与角色"), _admin_url(user, "accounts_user_changelist"), _("每个账号对应一个角色和一个所属机构")),
            Link(_("年度政策与学时要求"), _admin_url(user, "catalog_yearpolicy_changelist")),
            Link(_("工作看板"), reverse("reports:city_dashboard")),
            Link(_("年度考核"), reverse("assessment:index")),
            Link(_("资格查询记录"), reverse("eligibility:log"), _("谁在何时查询了谁")),
            _api_docs(),
        ),
        coming=[_("操作日志"), _("数据导入导出")],
        extra={"users_by_role": _users_by_role(user)},
    )


def _users_by_role(user: User) -> list[tuple[str, int]]:
    counts = dict(visible(user, User).order_by().values_list("role").annotate(n=Count("pk")))
    return [(label, counts.get(value, 0)) for value, label in Role.choices]


def demo_accounts() -> list[tuple[str, str]]:
    """(role, username) of one active login per role, for the login page's note in DEBUG only."""
    seen: dict[str, str] = {}
    for role, username in User.objects.filter(is_active=True).order_by("role", "username").values_list(
            "role", "username"):
        seen.setdefault(role, username)
    return [(label, seen[value]) for value, label in Role.choices if value in seen]


_BUILDERS = {
    Role.TRAINEE: _trainee,
    Role.UNIT_ADMIN: _unit_admin,
    Role.BASE_STAFF: _base_staff,
    Role.INDUSTRY_DEPT: _industry_dept,
    Role.COUNTY_BUREAU: _county_bureau,
    Role.CITY_BUREAU: _city_bureau,
    Role.SYSTEM_ADMIN: _system_admin,
}
