import datetime
import itertools

import factory

from apps.accounts.models import Role, User
from apps.bases.models import CountyDelegation, TrainingBase
from apps.catalog.models import Course, PolicyRequirement, YearPolicy
from apps.core.demo import credit_code_for_index, resident_id_for_index
from apps.orgs.models import Industry, IndustryDepartment, Region, Unit
from apps.personnel.models import Person, PromotionApplication, TitleHolding

# Start far from the demo generators' indices so factories never collide with seeded rows.
_ids = itertools.count(7_000_000)
_codes = itertools.count(500_000)


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = "410200"
    name = "开封市"
    kind = Region.Kind.CITY


class IndustryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Industry
        django_get_or_create = ("code",)

    code = "health"
    name = "卫生"


class IndustryDepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IndustryDepartment

    name = factory.Sequence(lambda n: f"行业主管部门{n}")
    industry = factory.SubFactory(IndustryFactory)
    region = factory.SubFactory(RegionFactory)


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    name = factory.Sequence(lambda n: f"测试单位{n}")
    credit_code = factory.LazyFunction(lambda: credit_code_for_index(next(_codes)))
    region = factory.SubFactory(RegionFactory)
    industry = factory.SubFactory(IndustryFactory)


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    id_number = factory.LazyFunction(lambda: resident_id_for_index(next(_ids)))
    name = factory.Sequence(lambda n: f"张{n}")
    unit = factory.SubFactory(UnitFactory)
    title_series = "卫生技术"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        obj = model_class(*args, **kwargs)
        obj.derive_from_id_number()
        obj.save()
        return obj


class TitleHoldingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TitleHolding

    person = factory.SubFactory(PersonFactory)
    level = "intermediate"
    series = "卫生技术"
    obtained_on = datetime.date(2010, 7, 1)


class PromotionApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PromotionApplication

    person = factory.SubFactory(PersonFactory)
    from_level = "intermediate"
    to_level = "senior_deputy"
    year = 2016


class TrainingBaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingBase

    code = factory.Sequence(lambda n: f"base-{n}")
    name = factory.Sequence(lambda n: f"测试基地{n}")
    kind = TrainingBase.Kind.FACE_TO_FACE
    level = TrainingBase.Level.CITY
    region = factory.SubFactory(RegionFactory)
    approved_by = factory.SelfAttribute("region")


class CountyDelegationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CountyDelegation

    county = factory.SubFactory(RegionFactory)
    base = factory.SubFactory(TrainingBaseFactory)
    since = datetime.date(2016, 1, 1)


class YearPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = YearPolicy

    year = 2016
    region = factory.SubFactory(RegionFactory)
    registration_deadline = datetime.date(2016, 7, 5)


class PolicyRequirementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PolicyRequirement

    policy = factory.SubFactory(YearPolicyFactory)
    level = "intermediate"
    total_hours = 90
    public_hours = 26
    public_required_hours = 18


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course

    code = factory.Sequence(lambda n: f"C{n:04d}")
    title = factory.Sequence(lambda n: f"课程{n}")
    category = "public_required"
    hours = 6
    mode = "online"
    year = 2016


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "Kaifeng-2016")
    role = Role.SYSTEM_ADMIN
    is_staff = True

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()
