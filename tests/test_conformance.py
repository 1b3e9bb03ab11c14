"""The paper suites train as the public code does: every suite x method's expanded plan (``run plan``) equals the
golden table transcribed from the public scripts and code (``tests/conformance/<suite>.json``: each value with its
file, line and the repository commit it was read at). A deviation kept on purpose is a row with its reason, and
the plan must then equal ``ours``; any other difference fails naming the public file and line."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kd_gan_bench.benchmarks.planning.grid import expand
from kd_gan_bench.benchmarks.planning.suites import SUITES
from kd_gan_bench.benchmarks.planning.training_plan import plans

TABLES = sorted((Path(__file__).parent / "conformance").glob("*.json"))
PAPER_SUITES = ("cyclegan_horse2zebra", "pix2pix_edges2shoes", "pix2pix_cityscapes", "cgan_kd_cifar100",
                "cgan_kd_utkface")
MISSING = "<missing from the plan>"


def _at(plan: dict[str, Any], path: str) -> Any:
    value: Any = plan
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return MISSING
        value = value[key]
    return value


def _matches(value: Any, row: dict[str, Any], expected: Any) -> bool:
    if row.get("op") == "contains":
        return isinstance(value, str) and str(expected) in value
    if isinstance(expected, (int, float)) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return abs(value - expected) <= 1e-9 * max(1.0, abs(expected))
    return value == expected


def test_every_paper_suite_has_a_table() -> None:
    assert sorted(t.stem for t in TABLES) == sorted(PAPER_SUITES)


@pytest.mark.parametrize("table", TABLES, ids=lambda p: p.stem)
def test_plan_equals_the_public_code(table: Path) -> None:
    doc = json.loads(table.read_text())
    jobs = [p for p in plans(expand(SUITES.get(doc["suite"]), seeds=[0])) if p["phase"] != "teacher"]
    methods = {p["method"] for p in jobs}
    covered = {row["method"] for row in doc["rows"]}
    assert methods <= covered, \
        f"{table.name}: methods without rows: {sorted(methods - covered)}"
    failures = []
    for row in doc["rows"]:
        expected = row["ours"] if "deviation" in row else row["public"]
        repo, _, where = row["source"].partition(":")
        source = (f"{doc['repos'][repo]['repo']} {where} @ {doc['repos'][repo]['commit'][:12]}"
                  if repo in doc["repos"] else row["source"])
        for plan in (p for p in jobs if p["method"] == row["method"]):
            value = _at(plan, row["path"])
            if not _matches(value, row, expected):
                what = f"kept deviation ({row['deviation']}) expects {expected!r}" if "deviation" in row else \
                    f"public code has {expected!r}"
                failures.append(f"{row['method']} {row['path']} = {value!r} in job {plan['job_id']}, {what}: {source}")
                break
    assert not failures, f"{doc['suite']}: {len(failures)} mismatches with the public code:\n" + "\n".join(failures)
