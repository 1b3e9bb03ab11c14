"""Every record says how to rerun it (issue 13, item 5): the command, the config hash, the commit; `rerun JOB_ID`."""
from __future__ import annotations

import contextlib
import io
import json
import shlex
from pathlib import Path

import pytest

from kd_gan_bench.benchmarks.planning.grid import expand
from kd_gan_bench.benchmarks.core.config import config_hash
from kd_gan_bench.benchmarks.records.provenance import PROGRAM, read_provenance, rerun_command, write_provenance
from kd_gan_bench.benchmarks.records.reruns import only_jobs
from kd_gan_bench.benchmarks.cli.main import build_parser, main
from kd_gan_bench.benchmarks.core.store import ResultStore
from kd_gan_bench.benchmarks.planning.suites import SUITES

OVERRIDES = ["output_kd.lambda_recon=[1,10]", "teacher.ngf=6"]


def _parse(command: str):
    tokens = shlex.split(command)
    assert tuple(tokens[:3]) == PROGRAM and tokens[3] == "grid"
    return build_parser().parse_args(tokens[3:])


def test_every_jobs_command_expands_to_exactly_that_job() -> None:
    """Teachers, artifacts and students of the composite smoke suite, with a list-valued grid axis: the command's
    suite, filters and --set items rebuild the job, and --jobs keeps it alone when its dependencies are done."""
    jobs = expand(SUITES.get("smoke"), seeds=[3], overrides=OVERRIDES)
    assert {j.phase for j in jobs} == {"teacher", "artifact", "student"}
    for job in jobs:
        command = rerun_command(job, "/data/results")
        args = _parse(command)
        # students are seed 3; the teacher (one per task) and the fake set are seed 0's, whatever the seeds
        assert job.seed == (3 if job.phase == "student" else 0)
        assert (args.suite, args.seeds, args.results, args.jobs) == ("smoke", [job.seed], "/data/results",
                                                                      [job.job_id])
        again = expand(SUITES.get(args.suite), tasks=args.tasks, methods=args.methods, seeds=args.seeds,
                       overrides=args.overrides)
        assert [j.job_id for j in only_jobs(again, args.jobs, lambda _id: True)] == [job.job_id], command
        assert config_hash(job)[:12] == job.job_id[2:] and len(config_hash(job)) == 64
    output_kd = [j for j in jobs if j.method == "output_kd"]
    assert {f"output_kd.lambda_recon={j.hparams['lambda_recon']}" in rerun_command(j, "r") for j in output_kd} == {True}
    with_deps = only_jobs(jobs, [output_kd[0].job_id], lambda _id: False)  # its teacher is not done: it comes along
    assert [j.job_id for j in with_deps] == [output_kd[0].teacher_id, output_kd[0].job_id]


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _records(results: Path) -> dict[str, dict]:
    return {r["job_id"]: r for r in ResultStore(results).records()}


FAST = ("--executor", "debug", "--no-report", "--no-progress")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = tmp_path_factory.mktemp("provenance")
    code, _, err = _run("grid", "--suite", "smoke", "--tasks", "synthetic_edges2shapes", "--methods", "output_kd",
                        "--set", "output_kd.lambda_recon=[10,20]", "--results", str(results), *FAST)
    assert code == 0, err
    return results


def test_the_records_command_reruns_that_job_only(store: Path) -> None:
    """The command a student's record carries, run with --force, reruns that job (same id and config hash,
    equal metrics: CPU training is deterministic here) and leaves the teacher and the other student alone."""
    before = _records(store)
    assert len(before) == 3 and all(r["status"] == "done" for r in before.values())
    for record in before.values():
        assert record["config_hash"][:12] == record["job_id"][2:]
        assert record["git_commit"] is None or len(record["git_commit"].removesuffix("-dirty")) == 40
    student = next(r for r in before.values() if r["config"]["hparams"].get("lambda_recon") == 20)
    assert "--set output_kd.lambda_recon=20" in student["rerun_command"]
    code, out, err = _run(*shlex.split(student["rerun_command"])[3:], "--force", *FAST)
    assert code == 0, err
    assert "1 done" in out
    after = _records(store)
    changed = {k for k in after if after[k]["run"] != before[k]["run"]}
    assert changed == {student["job_id"]}
    rerun = after[student["job_id"]]
    assert rerun["config_hash"] == student["config_hash"] and rerun["rerun_command"] == student["rerun_command"]
    for key in ("fid", "kid", "params", "macs"):  # latency is a wall-clock measurement: not compared
        assert rerun["metrics"][key] == pytest.approx(student["metrics"][key], rel=1e-6), key


def test_rerun_subcommand(store: Path) -> None:
    records = _records(store)
    student = next(r for r in records.values() if r["config"]["phase"] == "student")
    code, out, _ = _run("rerun", student["job_id"], "--results", str(store), *FAST)
    assert code == 0 and "add --force" in out and "1 skipped (done)" in out
    assert _records(store)[student["job_id"]]["run"] == student["run"]
    code, out, err = _run("rerun", student["job_id"], "--results", str(store), "--force", *FAST)
    assert code == 0, err
    again = _records(store)[student["job_id"]]
    assert again["run"] != student["run"] and again["run"].endswith("-rerun")
    assert again["config_hash"] == student["config_hash"]
    assert again["metrics"]["fid"] == pytest.approx(student["metrics"]["fid"], rel=1e-6)
    teacher = next(r for r in records.values() if r["config"]["phase"] == "teacher")
    assert _records(store)[teacher["job_id"]]["run"] == teacher["run"]  # done: not rerun


def test_unknown_job_ids_are_clear_errors(store: Path, tmp_path: Path) -> None:
    code, _, err = _run("rerun", "s-000000000000", "--results", str(store), *FAST)
    assert code == 2 and "s-000000000000" in err and "status --all" in err
    code, _, err = _run("grid", "--suite", "smoke", "--tasks", "synthetic_edges2shapes", "--jobs", "s-000000000000",
                        "--results", str(tmp_path), *FAST)
    assert code == 2 and "--jobs s-000000000000: not among" in err
    assert not (tmp_path / "runs").exists()


def test_rerun_runs_a_missing_dependency_first(store: Path, tmp_path: Path) -> None:
    """`rerun` of a student whose teacher has no record runs the teacher first (from the grid manifest)."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    records = _records(copy)
    teacher = next(r for r in records.values() if r["config"]["phase"] == "teacher")
    student = next(r for r in records.values() if r["config"]["phase"] == "student")
    (copy / "jobs" / teacher["job_id"] / "record.json").unlink()
    code, out, err = _run("rerun", student["job_id"], "--results", str(copy), "--force", *FAST)
    assert code == 0, err
    assert "2 done" in out
    manifest = json.loads(sorted((copy / "runs").glob("*-rerun/manifest.json"))[-1].read_text())  # this rerun's
    assert set(manifest["jobs"]) == {teacher["job_id"], student["job_id"]}
    assert _records(copy)[teacher["job_id"]]["status"] == "done"


def test_records_without_results_and_expected_jobs_carry_provenance(tmp_path: Path) -> None:
    """A blocked record (written by the launcher, not by a job) and a job a manifest expects but that has no record
    yet both say how to run them."""
    from kd_gan_bench.benchmarks.records.collect import collect
    from kd_gan_bench.benchmarks.execution.launcher import write_manifest
    from kd_gan_bench.benchmarks.planning.plan import blocked_record

    jobs = expand(SUITES.get("smoke"), tasks=["synthetic_edges2shapes"], methods=["output_kd"], seeds=[0])
    teacher, student = jobs
    store = ResultStore(tmp_path)
    provenance = write_provenance(tmp_path / "runs" / "1-smoke", jobs, tmp_path)  # what the launcher does
    assert read_provenance(tmp_path, "1-smoke") == provenance
    store.write_record(blocked_record(student, teacher.job_id, "failed", "boom", "run-1"), provenance[student.job_id])
    blocked = store.read_record(student.job_id)
    assert blocked["rerun_command"] == rerun_command(student, tmp_path)
    assert blocked["config_hash"] == config_hash(student)
    write_manifest(tmp_path / "runs" / "1-smoke", jobs, {})
    frame, _ = collect(store)
    missing = frame.set_index("job_id").loc[teacher.job_id]
    assert missing["status"] == "missing" and missing["rerun_command"] == rerun_command(teacher, tmp_path)
