"""Demo data: realistic Kaifeng units and professionals with title histories and promotion applications.

`demo_people_seed` is built for a million people: rows are generated in Python without per-person queries and
written in chunks, one transaction each, with `bulk_create` (portable) or PostgreSQL `COPY` (about twice as
fast; see bench/seed.py).

Determinism and idempotence rest on indices. Unit u always gets the u-th entry of a fixed catalogue and a credit code
derived from u (`unit_credit_code`); person i always gets `resident_id_for_index(i)`, and everything else about
person i (name, unit, titles, application) comes from a random stream that depends only on the seed, i, the number
of units and the year. A run skips every index whose ID number is already stored, so running again creates nothing
and a bigger N adds only the missing people — with the very rows a single run would have made.
"""
from __future__ import annotations

import bisect
import datetime
import functools
import io
import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.demo import BIRTH_DAYS, KAIFENG_COUNTY_CODES, credit_code_for_index
from apps.core.errors import DomainError
from apps.core.identifiers import ID_CHECK, ID_WEIGHTS
from apps.orgs.models import Industry, Region, Unit

from .models import Person, PromotionApplication, TitleHolding, TitleLevel

DEFAULT_SEED = 20160624  # the date of the 2016 document
CITY_CODE = "410200"
# People are generated in aligned blocks with one random stream each, so person i's attributes never depend on
# which other indices a run happens to create.
_BLOCK = 1000

# By rank, as plain strings (they go into COPY text).
LEVELS = tuple(str(level.value) for level in (TitleLevel.JUNIOR, TitleLevel.INTERMEDIATE, TitleLevel.SENIOR_DEPUTY,
                                              TitleLevel.SENIOR_FULL))
# The target mix, cumulative from the top: 2 % 正高, 10 % 副高, 38 % 中级, 50 % 初级.
_MIX = ((0.02, 4), (0.12, 3), (0.50, 2), (1.0, 1))
# Years between two titles: 初级→中级 at least 4 (bachelor's rule), later steps at least 5.
_GAPS = ((4, 7), (5, 8), (5, 8))
PROMOTED_IN_YEAR_SHARE = 0.05  # of people above junior: their latest title was obtained during the year
APPLICATION_SHARE = 0.031  # of those eligible (below 正高, ≥ 4 years at their level): ≈ 3 % of everyone

# Title series (职称系列) an industry's units use; a person's series is their unit's.
SERIES_BY_INDUSTRY = {
    "education": ("中小学教师", "高等学校教师", "中等职业学校教师"),
    "health": ("卫生技术",),
    "engineering": ("工程技术",),
    "agriculture": ("农业技术",),
    "economics": ("经济",),
    "accounting": ("会计",),
    "culture": ("艺术", "群众文化", "文物博物", "图书资料"),
    "press": ("新闻", "出版", "播音"),
    "research": ("自然科学研究",),
    "other": ("统计", "档案"),
}


class DemoSeedError(DomainError):
    default_message = gettext_lazy("无法生成演示数据")


# --- the unit catalogue ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitSpec:
    name: str
    region_code: str
    industry: str
    series: str
    weight: int  # relative head count
    public: bool  # 事业单位 (credit code 12…) or enterprise (91…)


# (name, industry, series, weight), most prominent first and industries interleaved, so that a small demo still
# shows hospitals, schools, engineers, farmers' advisers, artists and accountants.
_CITY_UNITS = (
    ("开封市第一人民医院", "health", "卫生技术", 60),
    ("开封大学", "education", "高等学校教师", 40),
    ("开封市农林科学研究院", "research", "自然科学研究", 8),
    ("开封市高级中学", "education", "中小学教师", 15),
    ("开封市市政工程设计研究院", "engineering", "工程技术", 8),
    ("开封市中医院", "health", "卫生技术", 35),
    ("开封市豫剧院", "culture", "艺术", 6),
    ("开封日报社", "press", "新闻", 6),
    ("开封市财政局国库集中支付中心", "accounting", "会计", 4),
    ("开封市农业技术推广站", "agriculture", "农业技术", 5),
    ("开封市第二人民医院", "health", "卫生技术", 40),
    ("开封市实验小学", "education", "中小学教师", 8),
    ("开封市建筑设计研究院", "engineering", "工程技术", 8),
    ("开封市统计局普查中心", "other", "统计", 3),
    ("开封市儿童医院", "health", "卫生技术", 25),
    ("开封文化艺术职业学院", "education", "高等学校教师", 20),
    ("开封市博物馆", "culture", "文物博物", 4),
    ("开封广播电视台", "press", "播音", 6),
    ("开封市妇幼保健院", "health", "卫生技术", 20),
    ("开封市技师学院", "education", "中等职业学校教师", 10),
    ("开封市水利建筑勘测设计院", "engineering", "工程技术", 6),
    ("开封市图书馆", "culture", "图书资料", 3),
    ("开封市疾病预防控制中心", "health", "卫生技术", 12),
    ("开封市动物疫病预防控制中心", "agriculture", "农业技术", 4),
    ("开封市群众艺术馆", "culture", "群众文化", 3),
    ("开封市档案馆", "other", "档案", 3),
    ("开封市中心血站", "health", "卫生技术", 5),
    ("开封市科学技术情报研究所", "research", "自然科学研究", 3),
    ("开封市发展投资集团有限公司", "economics", "经济", 6),
    ("开封市会计核算中心", "accounting", "会计", 3),
    ("开封市新华书店", "press", "出版", 3),
    ("开封市公路管理局", "engineering", "工程技术", 8),
    ("开封市第三人民医院", "health", "卫生技术", 25),
    ("开封市卫生学校", "education", "中等职业学校教师", 8),
    ("开封市城市建设投资有限公司", "economics", "经济", 5),
    ("开封市口腔医院", "health", "卫生技术", 8),
    ("开封市环境保护科学研究所", "research", "自然科学研究", 3),
)
# County (district) units; "{c}" is the county's name.
_COUNTY_UNITS = (
    ("{c}人民医院", "health", "卫生技术", 30),
    ("{c}实验小学", "education", "中小学教师", 8),
    ("{c}农业技术推广中心", "agriculture", "农业技术", 5),
    ("{c}第一高级中学", "education", "中小学教师", 14),
    ("{c}中医院", "health", "卫生技术", 20),
    ("{c}公路管理局", "engineering", "工程技术", 5),
    ("{c}文化馆", "culture", "群众文化", 3),
    ("{c}广播电视台", "press", "新闻", 3),
    ("{c}会计核算中心", "accounting", "会计", 3),
    ("{c}妇幼保健院", "health", "卫生技术", 12),
    ("{c}第二高级中学", "education", "中小学教师", 12),
    ("{c}职业教育中心", "education", "中等职业学校教师", 8),
    ("{c}水利勘测设计队", "engineering", "工程技术", 4),
    ("{c}疾病预防控制中心", "health", "卫生技术", 6),
    ("{c}实验中学", "education", "中小学教师", 10),
    ("{c}动物卫生监督所", "agriculture", "农业技术", 3),
    ("{c}图书馆", "culture", "图书资料", 2),
    ("{c}统计局普查中心", "other", "统计", 2),
    ("{c}档案馆", "other", "档案", 2),
    ("{c}第二人民医院", "health", "卫生技术", 15),
    ("{c}第一初级中学", "education", "中小学教师", 8),
    ("{c}农村信用合作联社", "economics", "经济", 5),
    ("{c}财政局国库支付中心", "accounting", "会计", 3),
    ("{c}城乡规划设计院", "engineering", "工程技术", 3),
    ("{c}农业科学研究所", "research", "自然科学研究", 3),
    ("{c}第二初级中学", "education", "中小学教师", 8),
    ("{c}第三高级中学", "education", "中小学教师", 10),
)
# Towns and sub-districts (乡镇、街道) of each county in 2016.
_TOWNS = {
    "410202": "北书店街道 午朝门街道 大兴街道 北道门街道 北郊乡 柳园口乡 水稻乡",
    "410203": "清平街道 铁塔街道 曹门街道 宋门街道 工业街道 苹果园街道 土柏岗乡",
    "410204": "相国寺街道 新华街道 卧龙街道 州桥街道 西司门街道 五一街道 仙人庄街道",
    "410205": "三里堡街道 新门关街道 繁塔街道 官坊街道 菜市街道 南郊乡 汪屯乡",
    "410212": "城关镇 陈留镇 仇楼镇 八里湾镇 曲兴镇 朱仙镇 半坡店乡 罗王乡 刘店乡 袁坊乡 杜良乡 兴隆乡 西姜寨乡 万隆乡 范村乡",
    "410221": "城关镇 五里河镇 傅集镇 圉镇镇 高阳镇 葛岗镇 阳堌镇 邢口镇 裴村店乡 宗店乡 板木乡 竹林乡 官庄乡 湖岗乡 "
              "苏木乡 沙沃乡 平城乡 泥沟乡 柿园乡 西寨乡",
    "410222": "城关镇 竖岗镇 玉皇庙镇 四所楼镇 长智镇 朱砂镇 冯庄乡 孙营乡 大岗李乡 邸阁乡 练城乡 厉庄乡",
    "410223": "城关镇 洧川镇 朱曲镇 蔡庄镇 永兴镇 张市镇 十八里镇 水坡镇 大营镇 庄头镇 大马乡 门楼任乡 大桥乡 "
              "南曹乡 邢庄乡 岗李乡 小陈乡",
    "410225": "城关镇 堌阳镇 南彰镇 考城镇 红庙镇 谷营镇 东坝头镇 张君墓镇 仪封乡 闫楼乡 孟寨乡 许河乡 葡萄架乡 "
              "小宋乡 三义寨乡",
}
_TOWN_UNITS = (  # "{t}" is county + town
    ("{t}卫生院", "health", "卫生技术", 5),
    ("{t}中心小学", "education", "中小学教师", 4),
    ("{t}初级中学", "education", "中小学教师", 5),
    ("{t}农业服务中心", "agriculture", "农业技术", 2),
    ("{t}财政所", "accounting", "会计", 1),
    ("{t}综合文化站", "culture", "群众文化", 1),
)
_STREET_UNITS = (  # sub-districts (街道) have community health centres and no farm services
    ("{t}社区卫生服务中心", "health", "卫生技术", 4),
    ("{t}中心小学", "education", "中小学教师", 4),
    ("{t}财政所", "accounting", "会计", 1),
    ("{t}综合文化站", "culture", "群众文化", 1),
)
_FIRM_WORDS = (
    "宏达 恒信 鑫源 华晟 中原 汴京 宋都 金明 东方 新星 永盛 天成 博远 瑞丰 德润 嘉禾 鸿运 润泽 信诚 正合 兴业 安泰 顺达 "
    "众鑫 盛世 远航 福瑞 汇通 龙腾 华夏 大宋 清明 铁塔 相国 黄河 宏图 万通 康达 泰和 金源 银河 天宇 新纪元 百川 广源 "
    "同创 和谐 建业 豫通 昌盛 中天 华宇 鼎盛 卓越 恒达 盛源 瑞祥 兴华 金鼎 长城 汴梁 宋城 梁园 东京 开元 启明 "
    "嘉诚 聚源 华信 万盛 金盾 大河 中兴 金诚 鑫达 天瑞 华润 恒通 祥和 永安 新源 广信 福星 泰丰 宏远 振华 "
    "合力 诚信 明德 安康 旭日 星光 宇通 中科 天驰 隆昌 春晖 德信 恒源 金桥 豫东 兰亭 朱仙 菊城 繁塔 延庆"
).split()
_FIRM_KINDS = (
    ("建筑工程有限公司", "engineering", "工程技术", 3),
    ("会计师事务所有限公司", "accounting", "会计", 1),
    ("商贸有限公司", "economics", "经济", 1),
    ("农业科技有限公司", "agriculture", "农业技术", 1),
    ("医院", "health", "卫生技术", 4),
    ("建设监理有限公司", "engineering", "工程技术", 2),
    ("文化传媒有限公司", "culture", "艺术", 1),
    ("印务有限公司", "press", "出版", 1),
    ("医药有限公司", "health", "卫生技术", 1),
    ("电子科技有限公司", "engineering", "工程技术", 2),
    ("资产评估有限公司", "economics", "经济", 1),
    ("税务师事务所有限公司", "accounting", "会计", 1),
    ("种业有限公司", "agriculture", "农业技术", 1),
    ("口腔门诊部", "health", "卫生技术", 1),
    ("建筑设计有限公司", "engineering", "工程技术", 2),
    ("环境检测有限公司", "research", "自然科学研究", 1),
)
# Where people work (share of all professionals by industry); units are then drawn by head count within it.
INDUSTRY_SHARES = (("education", 0.38), ("health", 0.26), ("engineering", 0.12), ("agriculture", 0.06),
                   ("economics", 0.04), ("accounting", 0.04), ("culture", 0.03), ("press", 0.02),
                   ("research", 0.02), ("other", 0.03))
_INDUSTRY_CODES = [code for code, _share in INDUSTRY_SHARES]
_INDUSTRY_CUM = [sum(share for _code, share in INDUSTRY_SHARES[: k + 1]) for k in range(len(INDUSTRY_SHARES))]
_CHINESE_ORDINALS = "一二三四五六七八九十"


def _ordinal(n: int) -> str:
    """1 → 一, 12 → 十二, 25 → 二十五 (n < 100)."""
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _CHINESE_ORDINALS[tens - 1] + "十")
    return head + (_CHINESE_ORDINALS[ones - 1] if ones else "")


def _region_units(code: str, name: str, position: int) -> Iterator[UnitSpec]:
    """The endless, fixed sequence of units of one region, most prominent first."""
    if code == CITY_CODE:
        for n, ind, series, w in _CITY_UNITS:
            yield UnitSpec(n, code, ind, series, w, True)
        for k in range(2, 31):
            yield UnitSpec(f"开封市第{_ordinal(k)}中学", code, "education", "中小学教师", 8, True)
        firm_prefix = "开封"
    else:
        # Rotate so that the first unit of each county differs (a 10-unit demo shows ten kinds of employer).
        start = position % len(_COUNTY_UNITS)
        for n, ind, series, w in _COUNTY_UNITS[start:] + _COUNTY_UNITS[:start]:
            yield UnitSpec(n.format(c=name), code, ind, series, w, True)
        towns = _TOWNS[code].split()
        for templates_index in range(max(len(_TOWN_UNITS), len(_STREET_UNITS))):
            for town in towns:
                templates = _STREET_UNITS if town.endswith("街道") else _TOWN_UNITS
                if templates_index < len(templates):
                    n, ind, series, w = templates[templates_index]
                    yield UnitSpec(n.format(t=name + town), code, ind, series, w, True)
        firm_prefix = "开封" if name.endswith("区") else name
    # Then firms, without end: each word with each kind, then numbered branches (分公司 have their own codes).
    branch = 0
    while True:
        for word in _FIRM_WORDS:
            for suffix, ind, series, w in _FIRM_KINDS:
                base = f"{firm_prefix}{word}{suffix}"
                if branch and not base.endswith("公司"):
                    continue
                if branch:
                    number = _ordinal(branch) if branch < 100 else str(branch)
                    yield UnitSpec(f"{base}第{number}分公司", code, ind, series, 1, False)
                else:
                    yield UnitSpec(base, code, ind, series, w, False)
        branch += 1


def unit_catalogue(regions: list[tuple[str, str]], count: int) -> list[UnitSpec]:
    """The first `count` demo units over `regions` [(code, name), city first]: one from each region in turn."""
    streams = [_region_units(code, name, pos) for pos, (code, name) in enumerate(regions)]
    return [next(streams[u % len(streams)]) for u in range(count)]


def unit_credit_code(u: int, spec: UnitSpec) -> str:
    # 12 = public institution (事业单位), 91 = enterprise; then the region code (GB 32100 positions 3–8). The index
    # is scrambled by a bijection of 0 … 31⁹-1 (P is prime to 31), so codes stay distinct but do not read 000…001.
    # Factories use indices from 500,000 on; no u below 200,000 maps into 500,000 … 2,000,000.
    scrambled = (u * 2_654_435_761 + 987_654_321) % 31**9
    return credit_code_for_index(scrambled, ("12" if spec.public else "91") + spec.region_code)


def default_unit_count(people: int) -> int:
    """About one unit per hundred people, at least one per region, at most 10,000."""
    return max(10, min(people // 100, 10_000))


# --- people ----------------------------------------------------------------------------------------------------

# Common surnames with rough frequencies (‰), Henan-weighted.
_SURNAMES = (
    "王72 李70 张68 刘54 陈45 杨31 赵23 郭18 孙15 黄14 周14 吴13 徐12 马12 胡12 朱12 高12 何10 林8 宋9 郑9 罗8 "
    "梁8 谢7 韩8 唐6 冯7 于6 董6 程6 曹6 袁6 邓5 许6 傅4 沈4 曾4 彭4 吕5 苏5 卢5 蒋4 蔡4 贾6 丁5 魏6 薛4 叶3 阎4 "
    "余3 潘3 杜5 戴3 夏3 钟3 汪3 田5 任5 姜4 范4 方3 石4 姚4 谭2 廖2 邹2 熊2 金3 陆2 郝4 孔3 白4 崔4 康3 毛3 邱2 "
    "秦3 江2 史4 顾2 侯4 邵3 孟4 龙2 万3 段4 雷2 钱2 汤2 尹3 黎1 易2 常4 武4 乔4 贺3 赖1 龚2 文2 申3 牛4 岳3 翟3"
).split()
_SURNAME_CHARS = [s[0] for s in _SURNAMES]
_SURNAME_CUM: list[int] = []
for _s in _SURNAMES:
    _SURNAME_CUM.append((_SURNAME_CUM[-1] if _SURNAME_CUM else 0) + int(_s[1:]))
# Given names: one character (from the second list), or two (first list + second list), as in 建国, 志强, 秀兰, 丽娟.
_GIVEN = {
    True: (tuple("建国志文海永明新俊晓春立学振宏德庆卫红家子国小长保金玉自向世"),
           tuple("伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宁亮峰俊林新军华东光成祥宇浩凯博阳龙坤森锋生民")),
    False: (tuple("秀丽雪晓玉淑桂春红美海小佳金慧凤艳亚素晶冬月彩爱"),
            tuple("芳娜敏静丽艳娟霞玲燕萍红英梅莉琳颖雪慧洁婷倩丹蕾琴兰云晶璐欣悦佳怡蓉月凤翠菲薇霞荣珍芬")),
}


def _name(rng: random.Random, male: bool) -> str:
    surname = _SURNAME_CHARS[bisect.bisect_right(_SURNAME_CUM, rng.random() * _SURNAME_CUM[-1])]
    firsts, seconds = _GIVEN[male]
    second = seconds[int(rng.random() * len(seconds))]
    if rng.random() < 0.75:
        return surname + firsts[int(rng.random() * len(firsts))] + second
    return surname + second


# The ID number of person i is resident_id_for_index(i) (apps.core.demo); this is the same computation with the
# per-birth-date part of the check sum cached, 6× faster for a million people. A test pins the equivalence.
_AREAS = KAIFENG_COUNTY_CODES
_SEQ_PART = [(f"{s:03d}", 8 * (s // 100) + 4 * (s // 10 % 10) + 2 * (s % 10)) for s in range(1000)]


class _IdCache:
    def __init__(self) -> None:
        self.prefixes: dict[tuple[int, int], tuple[str, int, datetime.date]] = {}

    def get(self, i: int) -> tuple[str, datetime.date, bool]:
        a = i % len(_AREAS)
        j = i // len(_AREAS)
        day = j % BIRTH_DAYS
        key = (a, day)
        hit = self.prefixes.get(key)
        if hit is None:
            birth = datetime.date(1956, 1, 1) + datetime.timedelta(days=day)
            prefix = f"{_AREAS[a]}{birth:%Y%m%d}"
            hit = self.prefixes[key] = (prefix, sum(int(d) * w for d, w in zip(prefix, ID_WEIGHTS)), birth)
        seq = (j // BIRTH_DAYS) % 999 + 1
        digits, weighted = _SEQ_PART[seq]
        first17 = hit[0] + digits
        return first17 + ID_CHECK[(hit[1] + weighted) % 11], hit[2], seq % 2 == 1


class PersonRow(NamedTuple):
    index: int
    id_number: str
    name: str
    gender: str
    birth_date: datetime.date
    unit_id: int
    series: str
    titles: tuple[tuple[str, datetime.date], ...]  # (level, obtained_on), oldest first
    promotion: tuple[str, str] | None  # (from_level, to_level) applied for in the year


@dataclass
class _Context:
    year: int
    seed: int
    unit_ids: list[int]
    unit_series: list[str]
    # Per (region code, industry code): unit positions and cumulative head-count weights; "" matches any.
    pools: dict[tuple[str, str], tuple[list[int], list[int]]]
    ids: _IdCache = field(default_factory=_IdCache)


def _pick_unit(ctx: _Context, rng: random.Random, area: str) -> int:
    # The industry first, so the mix holds however many firms there are; then most professionals work in the county
    # they were registered in, some in city-affiliated units.
    industry = _INDUSTRY_CODES[bisect.bisect_right(_INDUSTRY_CUM, rng.random() * _INDUSTRY_CUM[-1])]
    region = CITY_CODE if rng.random() < 0.3 else area
    pool = ctx.pools.get((region, industry)) or ctx.pools.get(("", industry)) or ctx.pools[("", "")]
    positions, cum = pool
    return positions[bisect.bisect_right(cum, rng.random() * cum[-1])]


def _career(rnd: Callable[[], float], birth_year: int, year: int
            ) -> tuple[tuple[tuple[str, datetime.date], ...], tuple[str, str] | None]:
    """Title history (oldest first) and the year's application, if any. `rnd` is the block stream's random()."""
    draw = rnd()
    rank = 4 if draw < _MIX[0][0] else 3 if draw < _MIX[1][0] else 2 if draw < _MIX[2][0] else 1
    # First title about a year after graduating at 21–24; then promotions after the minimum years or a little more.
    start = min(birth_year + 22 + int(rnd() * 4), year)
    gaps = [lo + int(rnd() * (hi - lo + 1)) for lo, hi in _GAPS]
    while rank > 1 and start + sum(gaps[: rank - 1]) > year:
        if gaps != _MIN_GAPS:
            gaps = _MIN_GAPS  # too young for the usual pace: take the fastest
        else:
            rank -= 1  # too young for this level at all
    years = [start]
    for g in gaps[: rank - 1]:
        years.append(years[-1] + g)
    promoted_now = rank > 1 and rnd() < PROMOTED_IN_YEAR_SHARE and years[-2] + _MIN_GAPS[rank - 2] <= year
    if promoted_now:
        years[-1] = year
    # Any day of the year: fromordinal skips month arithmetic and never makes 30 February.
    titles = tuple((LEVELS[k], datetime.date.fromordinal(_jan1(y) + int(rnd() * 365))) for k, y in enumerate(years))
    promotion = None
    if rank < 4 and not promoted_now and year - years[-1] >= 4 and rnd() < APPLICATION_SHARE:
        promotion = (LEVELS[rank - 1], LEVELS[rank])
    return titles, promotion


_MIN_GAPS = [lo for lo, _hi in _GAPS]


@functools.cache
def _jan1(year: int) -> int:
    return datetime.date(year, 1, 1).toordinal()


def _generate(ctx: _Context, start: int, stop: int, skip: set[str] | frozenset = frozenset()) -> Iterator[PersonRow]:
    """Rows for indices [start, stop) whose ID number is not in `skip`.

    Each aligned block of indices draws from its own random stream, from the block's start: person i's row is the
    same whichever range a run asks for. A block whose people all exist is not generated at all (fast re-runs)."""
    for block in range(start // _BLOCK, (stop - 1) // _BLOCK + 1):
        lo, hi = block * _BLOCK, min((block + 1) * _BLOCK, stop)
        ids = [ctx.ids.get(i) for i in range(lo, hi)]
        if skip and all(ids[k][0] in skip for k in range(max(start - lo, 0), hi - lo)):
            continue
        rng = random.Random(ctx.seed * 1_000_003 + block)
        for i, (id_number, birth, male) in enumerate(ids, lo):
            name = _name(rng, male)
            pos = _pick_unit(ctx, rng, id_number[:6])
            titles, promotion = _career(rng.random, birth.year, ctx.year)
            if i >= start and id_number not in skip:
                yield PersonRow(i, id_number, name, "M" if male else "F", birth, ctx.unit_ids[pos],
                                ctx.unit_series[pos], titles, promotion)


# --- writing ---------------------------------------------------------------------------------------------------


@dataclass
class SeedResult:
    units_created: int = 0
    people_created: int = 0
    holdings_created: int = 0
    promotions_created: int = 0
    people_skipped: int = 0
    seconds: float = 0.0
    method: str = ""

    @property
    def rate(self) -> float:
        """People created per second, their title holdings and applications included."""
        return self.people_created / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class SeedProgress:
    done: int  # indices looked at
    total: int
    result: SeedResult
    elapsed: float


def _write_orm(rows: list[PersonRow], year: int, batch_size: int) -> tuple[int, int]:
    people = [Person(id_number=r.id_number, name=r.name, gender=r.gender, birth_date=r.birth_date,
                     unit_id=r.unit_id, title_series=r.series) for r in rows]
    Person.objects.bulk_create(people, batch_size=batch_size)
    if people and people[0].pk is None:  # a backend that cannot return ids from a bulk insert
        by_number = dict(Person.objects.filter(id_number__in=[p.id_number for p in people])
                         .values_list("id_number", "pk"))
        for p in people:
            p.pk = by_number[p.id_number]
    holdings = [TitleHolding(person_id=p.pk, level=level, series=r.series, obtained_on=on)
                for p, r in zip(people, rows) for level, on in r.titles]
    TitleHolding.objects.bulk_create(holdings, batch_size=batch_size)
    promotions = [PromotionApplication(person_id=p.pk, from_level=r.promotion[0], to_level=r.promotion[1], year=year)
                  for p, r in zip(people, rows) if r.promotion]
    PromotionApplication.objects.bulk_create(promotions, batch_size=batch_size)
    return len(holdings), len(promotions)


def _copy(cursor, table: str, columns: list[str], text: str) -> None:
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    raw = cursor.cursor
    if hasattr(raw, "copy_expert"):  # psycopg2
        raw.copy_expert(sql, io.StringIO(text))
    else:  # psycopg 3
        with raw.copy(sql) as copy:
            copy.write(text)


def _columns(model, names: list[str]) -> list[str]:
    return [connection.ops.quote_name(model._meta.get_field(n).column) for n in names]


def _write_copy(rows: list[PersonRow], year: int) -> tuple[int, int]:
    """The same rows as `_write_orm`, streamed with COPY. Person ids are taken from the table's own sequence first,
    so holdings can refer to them without reading anything back."""
    now = timezone.now().isoformat()
    person_table = connection.ops.quote_name(Person._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                       [Person._meta.db_table, len(rows)])
        ids = [pk for (pk,) in cursor.fetchall()]
        # Tab-separated text format; names, series and levels never contain tabs, newlines or backslashes.
        _copy(cursor, person_table,
              _columns(Person, ["id", "id_number", "name", "gender", "birth_date", "unit", "title_series",
                                "created_at", "updated_at"]),
              "".join(f"{pk}\t{r.id_number}\t{r.name}\t{r.gender}\t{r.birth_date}\t{r.unit_id}\t{r.series}"
                      f"\t{now}\t{now}\n" for pk, r in zip(ids, rows)))
        holdings = [f"{pk}\t{level}\t{r.series}\t{on}\n" for pk, r in zip(ids, rows) for level, on in r.titles]
        _copy(cursor, connection.ops.quote_name(TitleHolding._meta.db_table),
              _columns(TitleHolding, ["person", "level", "series", "obtained_on"]), "".join(holdings))
        promotions = [f"{pk}\t{r.promotion[0]}\t{r.promotion[1]}\t{year}\t{now}\n"
                      for pk, r in zip(ids, rows) if r.promotion]
        if promotions:
            _copy(cursor, connection.ops.quote_name(PromotionApplication._meta.db_table),
                  _columns(PromotionApplication, ["person", "from_level", "to_level", "year", "created_at"]),
                  "".join(promotions))
    return len(holdings), len(promotions)


def _kaifeng_regions() -> list[Region]:
    codes = (CITY_CODE, *KAIFENG_COUNTY_CODES)
    found = {r.code: r for r in Region.objects.filter(code__in=codes)}
    missing = [c for c in codes if c not in found]
    if missing:
        raise DemoSeedError(
            _("缺少开封市行政区划 %(codes)s：请先运行 python manage.py loaddata kaifeng_2016 "
              "/ Kaifeng regions missing: load the kaifeng_2016 fixture first") % {"codes": ", ".join(missing)},
            code="fixture_missing")
    return [found[c] for c in codes]


def _ensure_units(regions: list[Region], count: int, result: SeedResult) -> tuple[list[UnitSpec], list[int]]:
    industries = dict(Industry.objects.values_list("code", "pk"))
    missing = sorted(set(SERIES_BY_INDUSTRY) - set(industries))
    if missing:
        raise DemoSeedError(
            _("缺少行业 %(codes)s：请先运行 python manage.py loaddata kaifeng_2016 "
              "/ industries missing: load the kaifeng_2016 fixture first") % {"codes": ", ".join(missing)},
            code="fixture_missing")
    region_ids = {r.code: r.pk for r in regions}
    specs = unit_catalogue([(r.code, r.name) for r in regions], count)
    codes = [unit_credit_code(u, s) for u, s in enumerate(specs)]
    existing: dict[str, int] = {}
    for start in range(0, len(codes), 500):  # small IN lists keep SQLite under its parameter limit
        existing.update(Unit.objects.filter(credit_code__in=codes[start:start + 500]).values_list("credit_code", "pk"))
    new = [Unit(name=s.name, credit_code=c, region_id=region_ids[s.region_code], industry_id=industries[s.industry])
           for s, c in zip(specs, codes) if c not in existing]
    with transaction.atomic():
        Unit.objects.bulk_create(new, batch_size=1000)
    result.units_created = len(new)
    if new and new[0].pk is None:
        for start in range(0, len(codes), 500):
            existing.update(Unit.objects.filter(credit_code__in=codes[start:start + 500])
                            .values_list("credit_code", "pk"))
    else:
        existing.update((u.credit_code, u.pk) for u in new)
    return specs, [existing[c] for c in codes]


def demo_people_seed(*, people: int, year: int, units: int | None = None, seed: int = DEFAULT_SEED,
                     chunk_size: int = 10_000, batch_size: int = 5_000, method: str = "auto",
                     progress: Callable[[SeedProgress], None] | None = None) -> SeedResult:
    """Make demo persons 0 … people-1 (and `units` employer units) exist; create only what is missing.

    method: "copy" (PostgreSQL COPY), "orm" (bulk_create, any database) or "auto" (copy where available).
    """
    if people < 0 or chunk_size < 1:
        raise DemoSeedError(_("人数须为非负整数"), code="invalid")
    if not 1900 < year < 2100:
        raise DemoSeedError(_("年度 %(year)s 不合理") % {"year": year}, code="invalid")
    if method == "auto":
        method = "copy" if connection.vendor == "postgresql" else "orm"
    if method == "copy" and connection.vendor != "postgresql":
        raise DemoSeedError(_("COPY 仅适用于 PostgreSQL，请使用 --method orm"), code="invalid")
    if method not in ("copy", "orm"):
        raise DemoSeedError(_("未知的写入方式 %(method)s") % {"method": method}, code="invalid")
    began = time.perf_counter()
    result = SeedResult(method=method)
    regions = _kaifeng_regions()
    specs, unit_ids = _ensure_units(regions, units if units is not None else default_unit_count(people), result)
    if not unit_ids:
        raise DemoSeedError(_("至少需要一个单位"), code="invalid")
    pools: dict[tuple[str, str], tuple[list[int], list[int]]] = {}
    for pos, spec in enumerate(specs):
        for key in ((spec.region_code, spec.industry), ("", spec.industry), ("", "")):
            positions, cum = pools.setdefault(key, ([], []))
            positions.append(pos)
            cum.append((cum[-1] if cum else 0) + spec.weight)
    ctx = _Context(year=year, seed=seed, unit_ids=unit_ids, unit_series=[s.series for s in specs], pools=pools)

    # Only ID numbers decide what exists. An empty table (the usual first run) needs no lookup at all; otherwise
    # one pass over the column beats a query per chunk.
    existing: set[str] = set()
    if Person.objects.exists():
        existing = set(Person.objects.values_list("id_number", flat=True).iterator(chunk_size=50_000))

    def generate(start: int) -> list[PersonRow]:
        return list(_generate(ctx, start, min(start + chunk_size, people), existing))

    # Generating a chunk (pure Python) overlaps with writing the previous one: the driver releases the GIL while
    # the server works, which is about half of the time. Writing stays in this thread, on this connection, so the
    # seed also works inside a caller's transaction (tests).
    starts = range(0, people, chunk_size)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-seed") as pool:
        pending = pool.submit(generate, starts[0]) if starts else None
        for k, start in enumerate(starts):
            rows = pending.result()
            pending = pool.submit(generate, starts[k + 1]) if k + 1 < len(starts) else None
            stop = min(start + chunk_size, people)
            result.people_skipped += stop - start - len(rows)
            if rows:
                with transaction.atomic():
                    holdings, promotions = (_write_copy(rows, year) if method == "copy"
                                            else _write_orm(rows, year, batch_size))
                result.people_created += len(rows)
                result.holdings_created += holdings
                result.promotions_created += promotions
            if progress:
                progress(SeedProgress(stop, people, result, time.perf_counter() - began))
    result.seconds = time.perf_counter() - began
    return result
