import datetime

import pytest
from django.core.exceptions import ValidationError

from apps.core.demo import credit_code_for_index, resident_id_for_index
from apps.core.identifiers import mask_id_number, parse_credit_code, parse_resident_id


@pytest.mark.parametrize("number, birth, gender", [
    ("11010519491231002X", datetime.date(1949, 12, 31), "F"),
    ("440524188001010014", datetime.date(1880, 1, 1), "M"),
    ("412723199010050012", datetime.date(1990, 10, 5), "M"),
])
def test_domain_examples_of_valid_ids_parse(number, birth, gender):
    rid = parse_resident_id(number)
    assert (rid.number, rid.birth_date, rid.gender) == (number, birth, gender)


def test_lower_case_x_is_accepted_as_upper_case():
    assert parse_resident_id("11010519491231002x").number == "11010519491231002X"


@pytest.mark.parametrize("number, code, fragment", [
    ("110105194912310021", "id_check", "校验位"),      # DOMAIN.md's invalid example
    ("11010519491331002X", "id_birth_date", "出生日期"),  # month 13
    ("110105194902300022", "id_birth_date", "出生日期"),  # 30 February
    ("410202209901010016", "id_birth_date", "出生日期"),  # born in the future
    ("000105194912310021", "id_area", "地区码"),
    ("410200199001010011", "id_area", "地区码"),          # county part 00
    ("1101051949123100", "id_length", "18 位"),
    ("11010519491231002XX", "id_length", "18 位"),
    ("11010519A91231002X", "id_chars", "数字"),
])
def test_invalid_ids_name_the_reason(number, code, fragment):
    with pytest.raises(ValidationError) as exc:
        parse_resident_id(number)
    assert exc.value.code == code
    assert fragment in exc.value.messages[0]


def test_masking_shows_first_six_and_last_four():
    assert mask_id_number("410202199001010011") == "410202********0011"
    assert mask_id_number("") == ""


@pytest.mark.parametrize("code", ["91110000600037341L", "914112810713741814"])
def test_domain_examples_of_valid_credit_codes(code):
    assert parse_credit_code(code) == code


@pytest.mark.parametrize("code, err", [
    ("91110000600037341N", "credit_check"),
    ("91110000600037341", "credit_length"),
    ("9111000060003734IL", "credit_chars"),   # I is not allowed
    ("9111000060003734OL", "credit_chars"),   # O is not allowed
])
def test_invalid_credit_codes_name_the_reason(code, err):
    with pytest.raises(ValidationError) as exc:
        parse_credit_code(code)
    assert exc.value.code == err


def test_demo_generators_make_distinct_valid_numbers():
    ids = [resident_id_for_index(i) for i in range(0, 2_000_000, 997)]
    assert len(set(ids)) == len(ids)
    for number in ids:
        parse_resident_id(number)
    codes = [credit_code_for_index(i) for i in range(3000)]
    assert len(set(codes)) == len(codes)
    for code in codes[:300]:
        parse_credit_code(code)
