"""Statistics, the machine description and small helpers shared by the suites."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHONPATH = os.pathsep.join(str(ROOT / p) for p in ("", "layers", "container"))


def ensure_path() -> None:
    """The shared package and the web app importable, as ``pytest`` and ``make dev`` have them."""
    for path in (ROOT, ROOT / "layers", ROOT / "container"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def summary(samples: Sequence[float]) -> dict[str, Any]:
    """Median and spread (quartiles and range) of repeated measurements."""
    ordered = sorted(samples)
    if len(ordered) >= 2:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        q1 = q3 = ordered[0]
    return {
        "median": statistics.median(ordered),
        "q1": q1,
        "q3": q3,
        "min": ordered[0],
        "max": ordered[-1],
        "n": len(ordered),
    }


def ratio(value: dict[str, Any], baseline: dict[str, Any]) -> float:
    return float(value["median"]) / float(baseline["median"])


def paired_ratios(samples: Sequence[float], baselines: Sequence[float]) -> dict[str, Any]:
    """Ratios of measurements taken side by side (round i of each), summarised."""
    return summary([s / b for s, b in zip(samples, baselines, strict=True)])


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    memory_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cpus": cpus,
        "memory_gb": memory_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
