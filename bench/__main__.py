"""python -m bench [names...]: run the benchmarks (all when no name is given) and print one table."""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import time
import unicodedata


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"
    return f"{text} {unit}".strip()


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(_width(r[k]) for r in rows) for k in range(len(rows[0]))]
    right = {1, 2, 3}  # numbers
    lines = []
    for n, r in enumerate(rows):
        cells = [(" " * (w - _width(c)) + c) if k in right else (c + " " * (w - _width(c)))
                 for k, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)

    import bench

    os.environ.setdefault("DATABASE_URL", bench.DEFAULT_DATABASE_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")  # DEBUG off: no query log
    import django

    django.setup()
    for module in pkgutil.iter_modules(bench.__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"bench.{module.name}")

    if args.list:
        for b in bench.REGISTRY.values():
            print(f"{b.name:12} {b.description}")
        return 0
    unknown = [n for n in args.names if n not in bench.REGISTRY]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(bench.REGISTRY)}")

    header = ("figure", "value", "floor", "ratio", "target")
    rows: list[tuple[str, ...]] = [header]
    failed = []
    names = args.names or list(bench.REGISTRY)
    if not args.names and "audit" in names and "ledger" in names:
        # The audit reads the million people the ledger benchmark builds: after it on a fresh machine.
        names.remove("audit")
        names.insert(names.index("ledger") + 1, "audit")
    for name in names:
        b = bench.REGISTRY[name]
        print(f"running {name}: {b.description}", file=sys.stderr, flush=True)
        began = time.perf_counter()
        try:
            results = list(b.run())
        except bench.Unavailable as exc:
            print(f"  {name} NOT AVAILABLE: {exc}", file=sys.stderr)
            failed.append(name)
            rows.append((f"{name}: not available", "—", "—", "—", str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 — one broken benchmark must not hide the others' figures
            import traceback

            traceback.print_exc()
            failed.append(name)
            rows.append((f"{name}: FAILED", "—", "—", "—", f"{type(exc).__name__}: {exc}"[:120]))
            continue
        print(f"  {name} took {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
        for r in results:
            ratio = r.ratio
            rows.append((r.figure, _fmt(r.value, r.unit), _fmt(r.floor, r.unit),
                         "—" if ratio is None else f"{ratio:.2f}", r.target))
    print(_table(rows))
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
