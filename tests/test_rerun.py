"""What a grid run reruns (shared by every executor), and resumable training state (no SLURM needed)."""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
import torch

from kd_gan_bench.benchmarks.planning.grid import expand
from kd_gan_bench.benchmarks.planning.plan import plan_jobs
from kd_gan_bench.benchmarks.cli.main import main
from kd_gan_bench.benchmarks.execution.runner import FileCheckpointer
from kd_gan_bench.benchmarks.core.store import CorruptRecord, ResultStore, outcome_record
from kd_gan_bench.benchmarks.planning.suites import SUITES
from kd_gan_bench.methods.core.training import PreemptedError, Schedule, TrainingState, run_steps

try:
    from tests.cli_helpers import TEACHER_FAILS_WHEN_TRAINING, TEACHER_FAILURE
except ImportError:  # pytest's rootdir-relative import mode
    from cli_helpers import TEACHER_FAILS_WHEN_TRAINING, TEACHER_FAILURE


def test_plan_rules(tmp_path: Path) -> None:
    jobs = expand(SUITES.get("smoke"), seeds=[0, 1])  # teachers first, then artifacts and students
    store = ResultStore(tmp_path)
    statuses = ["done", "failed", "timed_out", "blocked", None, "done", "corrupt", "failed"]
    for job, status in zip(jobs, statuses):
        if status == "corrupt":
            store.record_path(job.job_id).parent.mkdir(parents=True)
            store.record_path(job.job_id).write_text("{half a rec")
        elif status:
            store.write_record(outcome_record(job.to_dict(), status, None, "run-1"))
    assert isinstance(store.read_record(jobs[6].job_id), CorruptRecord)
    ids = [j.job_id for j in jobs]

    plan = plan_jobs(jobs, store)
    assert [j.job_id for j in plan.run] == [ids[3], ids[4], ids[6], *ids[8:]]  # blocked, missing, corrupt
    assert plan.skipped[ids[0]] == "done" and plan.skipped[ids[1]] == "failed (rerun with --retry-failed)"
    assert plan.skipped[ids[2]] == "timed_out (rerun with --retry-failed)"

    plan = plan_jobs(jobs, store, retry_failed=True)
    assert {j.job_id for j in plan.run} == set(ids) - {ids[0], ids[5]}
    plan = plan_jobs(jobs, store, force=True, in_flight={ids[4]: "running as SLURM job 7_1"})
    assert {j.job_id for j in plan.run} == set(ids) - {ids[4]}  # never twice, not even with --force
    assert plan.skipped == {ids[4]: "running as SLURM job 7_1 (submitted earlier)"}


def test_local_reruns_blocked_but_not_failed_without_retry(tmp_path: Path) -> None:
    """A teacher failing at run time blocks its student; the next grid reruns only the blocked
    student (blocked again at once), --retry-failed reruns the teacher too."""
    def grid(*extra: str) -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            assert main(["grid", "--suite", "smoke", "--tasks", "synthetic_edges2shapes", "--methods", "output_kd",
                         *TEACHER_FAILS_WHEN_TRAINING, "--executor", "debug", "--no-report",
                         "--no-progress", "--results", str(tmp_path), *extra]) == 1  # failed/blocked jobs
        return out.getvalue()

    def runs_of() -> dict[str, tuple[str, str]]:
        return {r["config"]["phase"]: (r["status"], r["run"]) for r in ResultStore(tmp_path).records()}

    assert "grid finished: 1 blocked, 1 failed" in grid()
    first = runs_of()
    assert first["teacher"][0] == "failed" and first["student"][0] == "blocked"
    assert "grid finished: 1 blocked, 1 skipped (failed (rerun with --retry-failed))" in grid()
    second = runs_of()
    assert second["teacher"] == first["teacher"] and second["student"][1] != first["student"][1]
    grid("--retry-failed")
    assert runs_of()["teacher"][1] > second["teacher"][1]


def _loop(checkpointer: FileCheckpointer, steps: int, stop_at: int | None = None) -> tuple[dict, torch.nn.Module]:
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 1)
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    gen = torch.Generator().manual_seed(0)
    state = TrainingState({"net": net}, {"opt": opt}, generator=gen)

    def step(i: int) -> dict[str, torch.Tensor]:
        if i + 1 == stop_at:
            checkpointer.request_stop()  # what the SIGUSR2 handler does, mid-step
        x = torch.randn(4, 3, generator=gen)
        loss = net(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss}

    with checkpointer.training():
        history = run_steps(step, state, Schedule(steps=steps, log_every=2), torch.device("cpu"), checkpointer,
                            log=lambda _: None)
    return history, net


def test_stop_request_saves_at_a_step_boundary_and_resume_continues(tmp_path: Path) -> None:
    straight, net_straight = _loop(FileCheckpointer(tmp_path / "a.pt"), 10)
    checkpointer = FileCheckpointer(tmp_path / "b.pt")
    with pytest.raises(PreemptedError, match="stopped at step 4"):
        _loop(checkpointer, 10, stop_at=4)
    assert torch.load(checkpointer.path, weights_only=True)["step"] == 4  # the state loads without pickled code
    resumed, net_resumed = _loop(FileCheckpointer(tmp_path / "b.pt"), 10)
    assert resumed == straight  # same losses at the same steps: RNG and optimiser state restored
    assert torch.equal(net_resumed.weight, net_straight.weight)
    assert torch.load(checkpointer.path, weights_only=True)["step"] == 10  # the finished state is kept


def test_stop_request_outside_training_stops_at_once_and_is_ignored_when_finished(tmp_path: Path) -> None:
    checkpointer = FileCheckpointer(tmp_path / "s.pt")
    with pytest.raises(PreemptedError, match="during setup"):
        checkpointer.request_stop()
    with pytest.raises(PreemptedError, match="end of training"):
        with checkpointer.training():
            checkpointer.request_stop()  # after the loop's last check: honoured when training ends
    with pytest.raises(PreemptedError, match="during evaluation"):
        checkpointer.request_stop()
    checkpointer.finish()
    checkpointer.request_stop()  # the record is written: nothing left to save


@pytest.mark.parametrize("steps, log_every, points", [(100, 50, 20), (7, 50, 7), (1000, 10, 100), (45, 50, 23)])
def test_history_has_enough_points_for_a_curve_and_the_log_keeps_its_interval(steps: int, log_every: int,
                                                                               points: int) -> None:
    """The loss history keeps at least 20 points (one per step below 20 steps; ``log_every`` when it gives more),
    each the mean of its window; the log still prints every ``log_every`` steps, the mean since its last line."""
    lines: list[str] = []
    state = TrainingState({"net": torch.nn.Linear(1, 1)}, {})
    history = run_steps(lambda i: {"loss": torch.tensor(float(i))}, state,
                        Schedule(steps=steps, log_every=log_every), torch.device("cpu"), log=lines.append)
    assert len(history["steps"]) == len(history["loss"]) == points and history["steps"][-1] == steps
    ends = [0, *history["steps"]]
    assert history["loss"] == [(a + b - 1) / 2 for a, b in zip(ends, ends[1:])]  # mean of steps a..b-1
    printed = [s for s in range(1, steps + 1) if s % log_every == 0 or s == steps]
    assert [line.split()[1] for line in lines] == [f"{s}/{steps}" for s in printed]
    assert lines[0].endswith(f"loss={(printed[0] - 1) / 2:.4f}")
