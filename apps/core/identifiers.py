"""Chinese identity numbers: resident ID (GB 11643-1999) and unified social credit code (GB 32100-2015).

Parsing returns a normalised value or raises ValidationError whose message names the part that is wrong,
so a clerk fixing a spreadsheet knows what to change.
"""
import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
# Province-level codes of GB/T 2260 (incl. Taiwan 71, Hong Kong 81, Macau 82). No complete historical table of
# county codes is shipped (ID numbers keep the code in force at registration, decades back), so the county part is
# checked structurally: prefecture and county digits must not be 00.
PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)


@dataclass(frozen=True)
class ResidentId:
    number: str
    area_code: str
    birth_date: datetime.date
    gender: str  # "M" or "F"

    @property
    def masked(self) -> str:
        return mask_id_number(self.number)


def mask_id_number(number: str) -> str:
    """First 6 and last 4 characters, the rest starred: 410202********1234."""
    if not number:
        return ""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def id_check_char(first17: str) -> str:
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS)) % 11]


def parse_resident_id(value: str, *, today: datetime.date | None = None) -> ResidentId:
    raw = (value or "").strip().upper()
    if len(raw) != 18:
        raise ValidationError(
            _("身份证号应为 18 位，实际为 %(n)d 位"), code="id_length", params={"n": len(raw)}
        )
    # isascii(): str.isdigit() also says yes to full-width, Arabic-Indic and superscript digits ("１", "٣", "¹"),
    # which are not ID numbers and which int() reads as digits, or not at all.
    if not raw.isascii() or not raw[:17].isdigit() or not (raw[17].isdigit() or raw[17] == "X"):
        raise ValidationError(_("身份证号前 17 位须为数字，第 18 位为数字或 X"), code="id_chars")
    area = raw[:6]
    if area[:2] not in PROVINCE_CODES or area[2:4] == "00" or area[4:6] == "00":
        raise ValidationError(_("身份证号地区码 %(area)s 不存在"), code="id_area", params={"area": area})
    try:
        birth = datetime.date(int(raw[6:10]), int(raw[10:12]), int(raw[12:14]))
    except ValueError:
        raise ValidationError(
            _("身份证号中的出生日期 %(d)s 不是有效日期"), code="id_birth_date", params={"d": raw[6:14]}
        ) from None
    today = today or datetime.date.today()
    if birth.year < 1800 or birth > today:
        raise ValidationError(
            _("身份证号中的出生日期 %(d)s 不可能"), code="id_birth_date", params={"d": raw[6:14]}
        )
    expected = id_check_char(raw[:17])
    if raw[17] != expected:
        raise ValidationError(
            _("身份证号校验位错误：应为 %(expected)s，实际为 %(actual)s"),
            code="id_check",
            params={"expected": expected, "actual": raw[17]},
        )
    return ResidentId(raw, area, birth, "M" if int(raw[16]) % 2 else "F")


def validate_resident_id(value: str) -> None:
    if value != (value or "").strip().upper():
        raise ValidationError(_("身份证号须为大写且无空格"), code="id_normal_form")
    parse_resident_id(value)


CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_check_char(first17: str) -> str:
    total = sum(CREDIT_CHARS.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS))
    return CREDIT_CHARS[(31 - total % 31) % 31]


def parse_credit_code(value: str) -> str:
    raw = (value or "").strip().upper()
    if len(raw) != 18:
        raise ValidationError(
            _("统一社会信用代码应为 18 位，实际为 %(n)d 位"), code="credit_length", params={"n": len(raw)}
        )
    bad = sorted({c for c in raw if c not in CREDIT_CHARS})
    if bad:
        raise ValidationError(
            _("统一社会信用代码含有不允许的字符：%(chars)s"), code="credit_chars", params={"chars": "".join(bad)}
        )
    expected = credit_check_char(raw[:17])
    if raw[17] != expected:
        raise ValidationError(
            _("统一社会信用代码校验位错误：应为 %(expected)s，实际为 %(actual)s"),
            code="credit_check",
            params={"expected": expected, "actual": raw[17]},
        )
    return raw


def validate_credit_code(value: str) -> None:
    if value != (value or "").strip().upper():
        raise ValidationError(_("统一社会信用代码须为大写且无空格"), code="credit_normal_form")
    parse_credit_code(value)
