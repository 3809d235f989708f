"""Benchmarks (not tests): `python -m bench [names...]` runs them and prints one table.

Each module in this package registers one or more benchmarks with `@benchmark(name)`. A benchmark measures its
figure and the figure's floor — the same work done the cheapest way we know (raw COPY, a bare SQL query, …) — side
by side in the same run, on the same machine and data, and returns rows:

    Row(figure="seed_demo, 200,000 people (COPY)", value=29_700, unit="people/s", floor=98_000,
        target="≥ 20,000 people/s")

The harness adds the ratio value/floor. A benchmark that cannot run here (no PostgreSQL, …) raises Unavailable
with a reason a person can act on.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

# Benchmarks need PostgreSQL; they create and drop databases whose name ends in _bench, never another one.
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/ce_seed_bench"


@dataclass(frozen=True)
class Row:
    figure: str
    value: float
    unit: str
    floor: float | None = None  # same unit as value; None when there is no meaningful floor
    target: str = ""

    @property
    def ratio(self) -> float | None:
        return self.value / self.floor if self.floor else None


class Unavailable(Exception):
    """This benchmark cannot run on this machine; the message says why and what to set."""


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    run: Callable[[], Iterable[Row]]


REGISTRY: dict[str, Benchmark] = {}


def benchmark(name: str, description: str = "") -> Callable[[Callable[[], Iterable[Row]]], Callable[[], Iterable[Row]]]:
    def register(fn: Callable[[], Iterable[Row]]) -> Callable[[], Iterable[Row]]:
        if name in REGISTRY:
            raise ValueError(f"benchmark {name!r} registered twice")
        REGISTRY[name] = Benchmark(name, description or (fn.__doc__ or "").strip().splitlines()[0], fn)
        return fn

    return register
