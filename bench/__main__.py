"""``python -m bench`` (``make bench``): run the suites, write bench/results/latest.json and
docs/performance.md."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import ROOT, ensure_path, machine

SUITES = (
    "coldstart",
    "issuance",
    "orders",
    "images",
    "contention",
    "web",
    "localapi",
    "rush",
    "door",
    "signin",
    "qrdamage",
)
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
REPORT = ROOT / "docs" / "performance.md"


def _quietly(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Handlers print their metrics and logs to stdout, as in Lambda; not here."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def run(
    suites: list[str], quick: bool, before: str | None = None, rounds: int | None = None
) -> dict[str, Any]:
    from bench import (
        coldstart,
        contention,
        door,
        images,
        issuance,
        localapi,
        orders,
        qrdamage,
        rush,
        signin,
        web,
    )

    rounds = rounds or (3 if quick else 9)
    results: dict[str, Any] = {
        "taken_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "quick": quick,
        "machine_before": machine(),
    }
    needs_databases = "web" in suites or "coldstart" in suites
    with contextlib.ExitStack() as stack:
        database_url = redis_url = None
        if needs_databases:
            print("starting PostgreSQL and Redis", flush=True)
            database_url, redis_url = stack.enter_context(web.databases())
        for suite in suites:
            started = time.monotonic()
            print(f"running {suite}", flush=True)
            if suite == "coldstart":
                with coldstart.moto_world() as world:
                    world.database_url, world.redis_url = database_url, redis_url
                    subjects = coldstart.with_before(before) if before else coldstart.SUBJECTS
                    results[suite] = coldstart.run(world, rounds, subjects)
            elif suite == "issuance":
                results[suite] = issuance.run(rounds, per_round=20 if quick else 50)
            elif suite == "orders":
                results[suite] = _quietly(orders.run, min(rounds, 5), 3 if quick else 4)
            elif suite == "images":
                results[suite] = _quietly(images.run, rounds)
            elif suite == "contention":
                results[suite] = _quietly(contention.run, 1 if quick else 3)
            elif suite == "web":
                assert database_url
                assert redis_url
                results[suite] = web.run(
                    1 if quick else 3, database_url, redis_url, seconds=2 if quick else 5
                )
            elif suite == "localapi":
                results[suite] = _quietly(localapi.run, rounds, 30 if quick else 100)
            elif suite == "rush":
                results[suite] = _quietly(rush.run, quick)
            elif suite == "door":
                results[suite] = door.run(rounds, 50 if quick else 200)
            elif suite == "signin":
                with coldstart.moto_world() as world:
                    results[suite] = _quietly(signin.run, world, rounds, 10 if quick else 30)
            elif suite == "qrdamage":
                results[suite] = qrdamage.run(8 if quick else 24)
            print(f"  {suite} took {time.monotonic() - started:.0f} s", flush=True)
    results["machine_after"] = machine()
    return results


def count(parser: argparse.ArgumentParser, functions: list[str]) -> int:
    """``--count``: the named functions' instructions, each against the floor's."""
    from bench import coldstart, web

    try:
        subjects = coldstart.named(functions)
    except ValueError as exc:
        parser.error(str(exc))
    if coldstart.VALGRIND is None:
        parser.error("counting instructions needs valgrind (apt-get install valgrind)")
    with contextlib.ExitStack() as stack:
        world = stack.enter_context(coldstart.moto_world())
        if coldstart.DATABASE_FUNCTIONS & {s.function for s in subjects}:
            world.database_url, world.redis_url = stack.enter_context(web.databases())
        counted = _quietly(coldstart.count_only, world, subjects)
    floor = counted["floor"] - counted["empty"]
    print(f"floor: {counted['floor'] / 1e6:,.1f} M instructions, {floor / 1e6:,.1f} M its own")
    for name, each in counted["functions"].items():
        print(f"{name:36} {each['instructions'] / 1e6:9,.1f} M  {each['own_ratio']:.3f} x")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (for trying it out)")
    parser.add_argument("--only", default=",".join(SUITES), help="comma-separated suites")
    parser.add_argument(
        "--before",
        metavar="REV",
        help="cold start: also measure each function as it was at this git revision",
    )
    parser.add_argument(
        "--rounds", type=int, metavar="N", help="rounds per suite (default 9, 3 with --quick)"
    )
    parser.add_argument(
        "--count",
        metavar="FUNCTIONS",
        help="only count, under callgrind, the instructions of these functions' cold starts "
        "(comma-separated logical ids) against the floor's; prints them, writes nothing",
    )
    parser.add_argument("--no-write", action="store_true", help="print the report, write nothing")
    parser.add_argument(
        "--render",
        action="store_true",
        help="rewrite docs/performance.md from bench/results/latest.json without measuring",
    )
    options = parser.parse_args(argv)
    suites = [s for s in options.only.split(",") if s]
    unknown = set(suites) - set(SUITES)
    if unknown:
        parser.error(f"unknown suites: {', '.join(sorted(unknown))}")
    ensure_path()
    from bench import report

    if options.render:
        REPORT.write_text(report.render(json.loads(RESULTS.read_text())))
        print(f"wrote {REPORT.relative_to(ROOT)}")
        return 0
    if options.count:
        return count(parser, [f for f in options.count.split(",") if f])
    results = run(suites, options.quick, options.before, options.rounds)
    if set(suites) != set(SUITES) and RESULTS.exists():
        # A chosen suite replaces its own results and keeps the others' (each says when it ran).
        kept = json.loads(RESULTS.read_text())
        taken = kept.get("suites_taken_at") or {s: kept["taken_at"] for s in SUITES if s in kept}
        for suite in suites:
            kept[suite] = results[suite]
            taken[suite] = results["taken_at"]
        kept["suites_taken_at"] = taken
        kept.update(
            {k: results[k] for k in ("taken_at", "quick", "machine_before", "machine_after")}
        )
        results = kept
    text = report.render(results)
    if options.no_write:
        print(text)
        return 0
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    REPORT.write_text(text)
    print(f"wrote {RESULTS.relative_to(ROOT)} and {REPORT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
