"""R1–R6 as a table: each row is a boundary from DOMAIN.md. The engine is pure, so no database here."""
from decimal import Decimal as D

import pytest

from apps.ledger.compliance import Promotion, Requirement, Totals, evaluate, fmt, result_as_dict

SENIOR_MID = Requirement(D(90), D(26), D(18))
JUNIOR = Requirement(D(90), D(22), D(18))


def run(level, pr, pe, prof, req=None, promotion=None, organised=()):
    req = req or (JUNIOR if level == "junior" else SENIOR_MID)
    return evaluate(year=2016, level=level, requirement=req,
                    totals=Totals(D(pr), D(pe), D(prof), tuple((k, D(v)) for k, v in organised)),
                    promotion=promotion)


@pytest.mark.parametrize("level, pr, pe, prof, compliant, failing", [
    # R1: 90 total
    ("intermediate", 18, 8, "64", True, set()),
    ("intermediate", 18, 8, "63.5", False, {"total"}),               # 89.5 vs 90
    # R2: public 26 for senior and intermediate
    ("senior_full", 18, "7.5", "64.5", False, {"public"}),           # 25.5 vs 26
    ("senior_deputy", 18, 8, 64, True, set()),
    ("intermediate", 18, "7.5", "64.5", False, {"public"}),
    # R3: public 22 for junior
    ("junior", 18, "3.5", "68.5", False, {"public"}),                # 21.5 vs 22
    ("junior", 18, 4, 68, True, set()),
    # required 18
    ("intermediate", "17.5", "8.5", 64, False, {"public_required"}),  # 17.5 vs 18, public still 26
    ("junior", "17.5", "4.5", 68, False, {"public_required"}),
    # several at once
    ("intermediate", 14, 4, 64, False, {"total", "public", "public_required"}),
])
def test_hours_rules(level, pr, pe, prof, compliant, failing):
    r = run(level, pr, pe, prof)
    assert r.compliant is compliant
    assert {s.key for s in r.shortfalls} == failing


def test_shortfall_sentence_names_public_and_required_gaps():
    r = run("intermediate", 14, 4, 72)  # total 90, public 18 (8 short), required 14 (4 short)
    assert r.summary == "还差 8 学时公需科目，其中必修 4 学时"
    assert r.summary_en == "8 public-subject hours missing, of which 4 required"


def test_half_hours_are_printed_without_trailing_zeros():
    assert fmt(D("8.0")) == "8" and fmt(D("0.5")) == "0.5" and fmt(D("89.5")) == "89.5"
    assert run("intermediate", 18, 8, "63.5").summary == "还差 0.5 学时"


def test_missing_hours_bar_every_r6_action():
    r = run("intermediate", 18, 8, 60)
    assert {c.code for c in r.consequences} == {"hiring", "title", "registration", "expert", "awards"}
    assert run("intermediate", 18, 8, 64).consequences == ()


def test_professional_minimum_applies_only_when_the_policy_sets_one():
    national = Requirement(D(90), D(26), D(18), professional=D(60))
    r = run("intermediate", 18, 12, 60, req=national)
    assert r.compliant and r.rule("professional").met
    r = run("intermediate", 18, 18, 54, req=national)
    assert not r.compliant and {s.rule for s in r.shortfalls} == {"R4"}
    assert run("intermediate", 18, 18, 54).rule("professional") is None  # Kaifeng 2016 has none


@pytest.mark.parametrize("move, organised, passes", [
    (("intermediate", "senior_deputy"), [("county", 26)], False),   # county-only training fails R5
    (("intermediate", "senior_deputy"), [("county", 20), ("city", 6)], True),
    (("senior_deputy", "senior_full"), [("province", 8)], True),    # higher than city counts
    (("junior", "intermediate"), [("county", 26)], True),           # 初级→中级 may use county training
    (("junior", "intermediate"), [], True),
])
def test_r5_promotion_training(move, organised, passes):
    r = run(move[0], 18, 8, 64, promotion=Promotion(*move), organised=organised)
    rule = r.rule("promotion_training")
    if move[1] in ("senior_deputy", "senior_full"):
        assert rule is not None and rule.met is passes
    else:
        assert rule is None
    assert r.compliant  # the hours themselves are complete
    assert (("promotion" in {c.code for c in r.consequences}) is (not passes))


def test_r5_failure_on_top_of_missing_hours_still_bars_everything():
    r = run("intermediate", 10, 0, 10, promotion=Promotion("intermediate", "senior_deputy"), organised=[])
    assert not r.compliant
    assert {s.rule for s in r.shortfalls} == {"R1", "R2", "R5"}
    assert "title" in {c.code for c in r.consequences}


def test_another_years_policy_needs_no_code_change():
    y2020 = Requirement(D(72), D(24), D(12), professional=D(48), promotion_min_organiser="province")
    r = evaluate(year=2020, level="intermediate", requirement=y2020,
                 totals=Totals(D(12), D(12), D(48), (("city", D(10)),)),
                 promotion=Promotion("intermediate", "senior_deputy"))
    assert r.compliant
    assert not r.rule("promotion_training").met  # this year asks for provincial training


def test_result_json_shape():
    data = result_as_dict(run("junior", 14, 4, 60))
    assert data["compliant"] is False
    assert data["totals"] == {"total": "78", "public": "18", "public_required": "14", "public_elective": "4",
                              "professional": "60"}
    assert {s["rule"] for s in data["shortfalls"]} == {"R1", "R3"}
    assert data["shortfalls"][0]["missing"] == "12"
