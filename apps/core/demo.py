"""Deterministic generators of valid identity numbers for demo data, tests and benchmarks."""
import datetime

from .identifiers import CREDIT_CHARS, credit_check_char, id_check_char

KAIFENG_COUNTY_CODES = ("410202", "410203", "410204", "410205", "410212", "410221", "410222", "410223", "410225")


def resident_id(area: str, birth: datetime.date, sequence: int) -> str:
    """A valid 18-character ID for this area, birth date and 3-digit sequence (odd = male, even = female)."""
    first17 = f"{area}{birth:%Y%m%d}{sequence % 1000:03d}"
    return first17 + id_check_char(first17)


BIRTH_DAYS = 14_000  # 1956-01-01 … 1994-04: working-age professionals in 2016


def resident_id_for_index(i: int, areas: tuple[str, ...] = KAIFENG_COUNTY_CODES) -> str:
    """The i-th of a collision-free sequence of valid IDs: distinct i below 9 × 14,000 × 999 (≈ 1.26 × 10^8)
    give distinct numbers. The birth date varies fastest, so any slice of the sequence has realistic ages."""
    area = areas[i % len(areas)]
    j = i // len(areas)
    birth = datetime.date(1956, 1, 1) + datetime.timedelta(days=j % BIRTH_DAYS)
    return resident_id(area, birth, (j // BIRTH_DAYS) % 999 + 1)


def credit_code_for_index(i: int, prefix: str = "12410200") -> str:
    """A valid unified social credit code; distinct i give distinct codes."""
    body = prefix
    n = i
    digits = []
    for _ in range(17 - len(prefix)):
        digits.append(CREDIT_CHARS[n % 31])
        n //= 31
    first17 = body + "".join(reversed(digits))
    return first17 + credit_check_char(first17)
