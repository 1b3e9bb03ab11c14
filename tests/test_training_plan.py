"""The training plan (``python -m kd_gan_bench.benchmarks.run plan``): torch-free, one declaration per method, the same schedule
arithmetic as the jobs, stored in every record and shown per leaderboard row."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from kd_gan_bench.benchmarks.planning.grid import expand
from kd_gan_bench.benchmarks.core.store import ResultStore
from kd_gan_bench.benchmarks.planning.suites import SUITES
from kd_gan_bench.benchmarks.planning.training_plan import job_plan, plans, train_examples
from kd_gan_bench.methods import METHODS
from cli_helpers import REPO, cli


def test_plan_imports_no_torch() -> None:
    """`plan` on a paper suite runs in a process that never imports torch (nor pandas)."""
    code = ("import sys, contextlib, io; from kd_gan_bench.benchmarks.cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    rc = main(['plan', '--suite', 'pix2pix_edges2shoes', '--json'])\n"
            "assert rc == 0 and out.getvalue().startswith('[')\n"
            "print(sorted(m for m in ('torch', 'pandas') if m in sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_declares_its_plan(method: str) -> None:
    assert callable(METHODS.info(method).plan), f"method {method!r} declares no training plan (its spec.py's plan)"


def test_plan_json_lists_every_job_with_roles() -> None:
    proc = cli("plan", "--suite", "cyclegan_horse2zebra", "--methods", "crd", "--seeds", "0", "--json")
    jobs = json.loads(proc.stdout)
    assert [j["method"] for j in jobs] == ["teacher", "crd", "crd", "crd"]
    crd = jobs[1]
    assert set(crd["trains"]) == {"student", "online_teacher", "online_teacher_BA", "teacher_discriminator",
                                  "teacher_discriminator_A"}
    assert set(crd["trains"]) <= set(crd["networks"])
    assert crd["trains"]["online_teacher"]["epochs"] == 200 and crd["trains"]["student"]["epochs"] == 800
    assert crd["trains"]["student"]["betas"] == [0.5, 0.999] and crd["losses"]["gan_mode"] == "lsgan"
    assert crd["trains"]["student"]["lr_schedule"]["constant_epochs"] == 400
    assert jobs[0]["trains"] == {}  # the published teacher is loaded, not trained
    tree = cli("plan", "--suite", "cyclegan_horse2zebra", "--methods", "crd", "--seeds", "0").stdout
    assert "online_teacher" in tree and "windows: 10 teacher epochs / 40 student epochs" in tree


def test_plan_bad_input_exits_2() -> None:
    proc = cli("plan", "--suite", "no_such_suite", check=False)
    assert proc.returncode == 2 and "no_such_suite" in proc.stderr


@pytest.mark.parametrize("method", ["crd", "dcd", "omgd"])
@pytest.mark.parametrize("paired", [True, False])
def test_online_plan_equals_the_jobs_schedule(method: str, paired: bool) -> None:
    """The plan's student and teacher steps are what the job's :func:`kd_gan_bench.methods.core.online_teacher.plan_schedule` gives."""
    from kd_gan_bench.methods.core.online_teacher import plan_schedule
    from kd_gan_bench.methods.core.training import Schedule

    task = "synthetic_edges2shapes" if paired else "synthetic_plain2striped"
    job = next(j for j in expand(SUITES.get("smoke_i2i"), tasks=[task], methods=[method], seeds=[0])
               if j.phase == "student")
    n = train_examples(job.task, job.task_args)
    data = SimpleNamespace(paired=paired, train_a=[0] * n, train_b=[0] * n)
    teacher = plan_schedule(job.hparams, data, Schedule.from_mapping(job.schedule), method)
    plan = job_plan(job)
    assert plan["trains"]["student"]["steps"] == teacher.student.steps
    teacher_role = "teacher_wide" if method == "omgd" and paired else "online_teacher"
    assert plan["trains"][teacher_role]["steps"] == teacher.teacher_steps


def test_records_store_the_plan_and_the_leaderboard_shows_it(tmp_path: Path) -> None:
    from kd_gan_bench.benchmarks.planning.plan import blocked_record
    from kd_gan_bench.benchmarks.records.provenance import write_provenance
    from kd_gan_bench.report.provenance import row_provenance
    import pandas as pd

    teacher, student = expand(SUITES.get("smoke"), tasks=["synthetic_edges2shapes"], methods=["omgd"], seeds=[0])
    store = ResultStore(tmp_path)
    provenance = write_provenance(tmp_path / "runs" / "run-1", [student], tmp_path)  # what the launcher does
    store.write_record(blocked_record(student, teacher.job_id, "failed", "boom", "run-1"), provenance[student.job_id])
    record = store.read_record(student.job_id)
    assert record["plan"] == json.loads(json.dumps(plans([student])[0]))
    row = pd.DataFrame([{"seed": 0, "job_id": student.job_id, "plan": json.dumps(record["plan"])}])
    shown = json.loads(row_provenance(row)["plan"])
    assert shown["trains"]["student"]["steps"] == 4 and "teacher_wide" in shown["networks"]
    cli("report", "--results", str(tmp_path))
    page = (tmp_path / "report" / "index.html").read_text()
    assert '<details class="provenance training-plan"><summary>plan</summary>' in page and "teacher_wide" in page
