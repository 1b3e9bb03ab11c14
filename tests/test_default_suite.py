"""The default suite shows something: its image-to-image teachers learn their translation.

The check trains the default suite's teacher of every built-in image-to-image task through the CLI (exactly
the default configuration, with one ``scratch`` student, seed 0) and compares the teacher's translations of the
test inputs with baselines that learned nothing, and with that ``scratch`` student:

* paired tasks: L1 to the test targets must be at most half that of the better of two baselines, the
  mean training target (the best constant image under L1's cousin, L2) and the input itself (identity);
* every task: FID with the offline extractor (the tests' own; the default run uses InceptionV3) must be at most
  0.7 times the better of an untrained generator of the teacher's architecture and the inputs themselves, and
  at most 0.9 times the FID of the ``scratch`` student trained beside it (same protocol: translations of the
  test inputs against the training and test targets).

The task's headline metric (colour-class mIoU for synthetic_edges2shapes) must be higher for the teacher than for
that student too.

Further tests give the same check an untrained generator, and the ``scratch`` student in the teacher's place,
and expect it to fail, so the check can fail. It also fails on the unpaired teacher the default suite had before
(synthetic_plain2striped at 32 px, 300 CycleGAN steps): offline FID 1.4 against 1.4 for the inputs themselves
and 16.0 for an untrained generator.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kd_gan_bench.benchmarks.families.i2i_jobs import translate
from kd_gan_bench.benchmarks.metrics.fid import compute_fid_kid, resolve_extractor
from kd_gan_bench.benchmarks.planning.suites import SUITES
from kd_gan_bench.datasets import TASKS, ImageTranslationData
from kd_gan_bench.datasets.base import load_task
from kd_gan_bench.methods.networks.build import build_network

try:
    from tests.cli_helpers import cli, records
except ImportError:  # pytest's rootdir-relative import mode
    from cli_helpers import cli, records

L1_MARGIN = 0.5
FID_MARGIN = 0.7
SCRATCH_MARGIN = 0.9
I2I_TASKS = SUITES.get("default_i2i").tasks


def _l1(fake: torch.Tensor, real: torch.Tensor) -> float:
    return float((fake.float() - real.float()).abs().mean() / 255)


def _fid(fake: torch.Tensor, real: torch.Tensor, cache: Path) -> float:
    return compute_fid_kid(fake, real, real_cache_name="real", cache_root=cache,
                           extractor=resolve_extractor(prefer="offline"), device=torch.device("cpu"))["fid"]


def teacher_learned(generator: torch.nn.Module, data: ImageTranslationData, spec: dict, cache: Path,
                    scratch: torch.nn.Module | None = None) -> tuple[bool, str]:
    """Whether ``generator`` beats the no-learning baselines (and ``scratch``'s student, when given) by the
    margins above, and the numbers."""
    fake = translate(generator, data.test_a, torch.device("cpu"))
    checks, numbers = [], []
    if data.paired:
        mean_target = data.train_b.float().mean(0, keepdim=True).round().to(torch.uint8).expand_as(data.test_b)
        ours, mean, identity = (_l1(x, data.test_b) for x in (fake, mean_target, data.test_a))
        checks.append(ours <= L1_MARGIN * min(mean, identity))
        numbers.append(f"L1 {ours:.3f} vs mean image {mean:.3f}, identity {identity:.3f}")
    torch.manual_seed(0)
    untrained = translate(build_network(spec), data.test_a, torch.device("cpu"))
    real = torch.cat([data.train_b, data.test_b])
    ours, blank, identity = (_fid(x, real, cache) for x in (fake, untrained, data.test_a))
    checks.append(ours <= FID_MARGIN * min(blank, identity))
    numbers.append(f"FID {ours:.1f} vs untrained {blank:.1f}, identity {identity:.1f}")
    if scratch is not None:
        scratch_fid = _fid(translate(scratch, data.test_a, torch.device("cpu")), real, cache)
        checks.append(ours <= SCRATCH_MARGIN * scratch_fid)
        numbers.append(f"scratch student {scratch_fid:.1f}")
    return all(checks), "; ".join(numbers)


def _trained(results: Path, record: dict) -> torch.nn.Module:
    spec = record["config"]["teacher" if record["config"]["phase"] == "teacher" else "student"]
    generator = build_network(spec)
    generator.load_state_dict(torch.load(results / "jobs" / record["job_id"] / "generator.pt", weights_only=True))
    return generator


def _data(task: dict) -> ImageTranslationData:
    return load_task(task["name"], **{k: v for k, v in task.items() if k != "name"})


@pytest.mark.parametrize("task", I2I_TASKS, ids=[t["name"] for t in I2I_TASKS])
def test_every_default_teacher_learns_its_translation(tmp_path, task):
    results = tmp_path / "r"
    # one student size (the middle one) of the three the suite runs, to keep this test's cost
    cli("grid", "--suite", "default", "--tasks", task["name"], "--methods", "scratch", "--seeds", "0",
        "--set", f"student.ngf={SUITES.get('default_i2i').students[1]['ngf']}",
        "--set", "evaluation.fid_extractor=offline", "--results", str(results))
    by_phase = {r["config"]["phase"]: r for r in records(results).values()}
    headline = TASKS.info(task["name"]).quality_metric
    if headline != "fid":  # the task's own headline sees the teacher's translation too
        assert by_phase["teacher"]["metrics"][headline] > by_phase["student"]["metrics"][headline], headline
    teacher, scratch = _trained(results, by_phase["teacher"]), _trained(results, by_phase["student"])
    spec, data = by_phase["teacher"]["config"]["teacher"], _data(task)
    learned, numbers = teacher_learned(teacher, data, spec, tmp_path / "fid", scratch)
    assert learned, f"the default teacher of {task['name']} did not learn its translation: {numbers}"
    # the comparison with scratch can fail: scratch's student in the teacher's place is no better than itself
    learned, numbers = teacher_learned(scratch, data, spec, tmp_path / "fid", scratch)
    assert not learned, numbers


@pytest.mark.parametrize("task", I2I_TASKS, ids=[t["name"] for t in I2I_TASKS])
def test_the_check_fails_for_a_teacher_that_learned_nothing(tmp_path, task):
    spec = dict(SUITES.get("default_i2i").teacher)
    torch.manual_seed(0)
    learned, numbers = teacher_learned(build_network(spec), _data(task), spec, tmp_path / "fid")
    assert not learned, numbers


def test_the_unpaired_check_fails_for_an_untrained_generator(tmp_path):
    """The unpaired branch too (no unpaired task is in the default suite: see its description)."""
    task = {"name": "synthetic_plain2striped", "size": 32, "n_train": 64, "n_test": 32}
    assert not TASKS.info(task["name"]).paired
    spec = dict(SUITES.get("default_i2i").teacher)
    torch.manual_seed(1)
    learned, numbers = teacher_learned(build_network(spec), _data(task), spec, tmp_path / "fid")
    assert not learned, numbers
