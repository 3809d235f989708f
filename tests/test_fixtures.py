from decimal import Decimal

from apps.bases.models import TrainingBase
from apps.catalog.models import Course, YearPolicy
from apps.orgs.models import Region


def test_kaifeng_2016_fixture_holds_the_registry_of_the_document(kaifeng):
    city = Region.objects.get(code="410200")
    counties = dict(Region.objects.filter(parent=city).values_list("code", "name"))
    assert counties == {
        "410202": "龙亭区", "410203": "顺河回族区", "410204": "鼓楼区", "410205": "禹王台区", "410212": "祥符区",
        "410221": "杞县", "410222": "通许县", "410223": "尉氏县", "410225": "兰考县",
    }
    bases = TrainingBase.objects.all()
    assert {b.name for b in bases} == {
        "河南省（开封市）专业技术人员继续教育网络学院", "开封市行政学院", "开封大学", "开封市文化艺术学院", "开封市建设学校",
    }
    assert bases.get(kind="online").name.endswith("网络学院")
    # The administrative college is the senior public-subject base (B2).
    assert set(bases.filter(kind="face_to_face", serves_senior=True).values_list("code", flat=True)) == {"kf-xzxy"}


def test_2016_policy_thresholds(kaifeng):
    policy = YearPolicy.objects.get(year=2016, region__code="410200")
    assert str(policy.registration_deadline) == "2016-07-05"
    req = {r.level: (r.total_hours, r.public_hours, r.public_required_hours, r.professional_hours)
           for r in policy.requirements.all()}
    senior = (Decimal(90), Decimal(26), Decimal(18), None)
    assert req == {"senior_full": senior, "senior_deputy": senior, "intermediate": senior,
                   "junior": (Decimal(90), Decimal(22), Decimal(18), None)}


def test_four_face_to_face_public_courses_are_required(kaifeng):
    f2f = Course.objects.filter(year=2016, mode="face_to_face", category__startswith="public")
    assert f2f.count() == 4
    assert set(f2f.values_list("category", flat=True)) == {"public_required"}
    assert "两学一做" in " ".join(f2f.values_list("title", flat=True))
    assert Course.objects.filter(year=2016, mode="online", category="public_elective").exists()


def test_fixture_loads_twice_without_duplicates(kaifeng):
    from django.core.management import call_command

    before = (Region.objects.count(), Course.objects.count(), TrainingBase.objects.count())
    call_command("loaddata", "kaifeng_2016", verbosity=0)
    assert (Region.objects.count(), Course.objects.count(), TrainingBase.objects.count()) == before
