"""Checkpoint policy: every record says which weights were scored (``last`` by default); ``schedule.select=best_val``
keeps the weights with the best validation score (FID; top-1 error or MAE for classifiers and regressors) on a split
carved from the training data, never the test set, and the leaderboard marks those rows."""
from __future__ import annotations

import torch

import json

import pytest

from kd_gan_bench.benchmarks.families.i2i_jobs import VAL_SPLIT_SEED, split_validation
from kd_gan_bench.benchmarks.families.labelled_jobs import split_validation as split_labelled
from kd_gan_bench.datasets.base import load_task
from kd_gan_bench.methods.core.labelled_training import SGDSchedule
from kd_gan_bench.methods.core.training import Schedule, validation_size

try:
    from tests.cli_helpers import cli, records
except ImportError:  # pytest's rootdir-relative import mode
    from cli_helpers import cli, records

ARGS = ("grid", "--suite", "smoke_i2i", "--tasks", "synthetic_edges2shapes", "--methods", "output_kd", "--executor",
        "debug", "--set", "evaluation.fid_extractor=offline")


def test_records_say_last_by_default_and_best_val_when_asked(tmp_path):
    cli(*ARGS, "--results", str(tmp_path / "last"))
    assert {r["metrics"]["checkpoint"] for r in records(tmp_path / "last").values()} == {"last"}

    cli(*ARGS, "--results", str(tmp_path / "val"), "--set", "schedule.select=best_val", "--set", "schedule.val_every=2")
    recs = records(tmp_path / "val").values()
    assert len(recs) == 2
    for record in recs:
        metrics = record["metrics"]
        assert metrics["checkpoint"] == "best_val", metrics
        scores = record["checkpoint_val_scores"]
        assert [step for step, _ in scores] == [2, 4]  # every 2 steps of 4, the last included
        best_step, best = min(scores, key=lambda s: s[1])
        assert metrics["checkpoint_step"] == best_step and metrics["checkpoint_val_fid"] == best
        assert "8 validation images held out of the training set" in metrics["checkpoint_selected_on"]


@pytest.mark.parametrize("suite, metric", [("smoke_classification", "accuracy"), ("smoke_regression", "mae")])
def test_labelled_jobs_select_on_their_own_validation_metric(tmp_path, suite, metric):
    results = tmp_path / "r"
    cli("grid", "--suite", suite, "--methods", "nokd", "--executor", "debug", "--results", str(results),
        "--set", "schedule.select=best_val", "--set", "schedule.val_every=2", "--set", "schedule.steps=6")
    recs = list(records(results).values())
    assert {r["config"]["phase"] for r in recs} == {"teacher", "student"}
    for record in recs:
        metrics, scores = record["metrics"], record["checkpoint_val_scores"]
        assert metrics["checkpoint"] == "best_val" and [step for step, _ in scores] == [2, 4, 6]
        best_step, best = min(scores, key=lambda s: s[1])  # lower is better: top-1 error in %, or MAE
        value = 100.0 - best if metric == "accuracy" else best
        assert metrics["checkpoint_step"] == best_step and metrics[f"checkpoint_val_{metric}"] == pytest.approx(value)
        assert "10 validation images held out of the training set" in metrics["checkpoint_selected_on"]
    board = json.loads((results / "report" / "leaderboard.json").read_text())
    rows = [row for task in board["tasks"] for row in task["rows"]]
    assert rows and {row["checkpoint"] for row in rows} == {"best_val"}
    html = (results / "report" / "index.html").read_text()
    assert html.count('class="checkpoint-policy"') == len(rows)


def test_the_labelled_validation_split_comes_from_the_training_data_and_is_fixed():
    data = load_task("synthetic_shapes10", size=16, n_train=100, n_test=20)
    rest, val = split_labelled(data, 0)
    assert len(val.test_x) == validation_size(100) == 10 and len(rest.train_x) == 90
    assert torch.equal(rest.test_x, data.test_x) and torch.equal(rest.test_y, data.test_y)
    train_rows = {bytes(x.numpy()) for x in data.train_x}
    held, kept = {bytes(x.numpy()) for x in val.test_x}, {bytes(x.numpy()) for x in rest.train_x}
    assert held <= train_rows and not held & kept
    assert torch.equal(split_labelled(data, 0)[1].test_x, val.test_x), "same split for every job of the task"


def test_the_validation_split_comes_from_the_training_data_and_is_fixed():
    data = load_task("synthetic_edges2shapes", size=16, n_train=40, n_test=6)
    rest, val_a, val_b = split_validation(data, 0)
    assert len(val_a) == validation_size(40) == 8 and len(rest.train_a) == 32
    assert torch.equal(rest.test_a, data.test_a) and torch.equal(rest.test_b, data.test_b)
    train_rows = {bytes(x.numpy()) for x in data.train_a}
    held, kept = {bytes(x.numpy()) for x in val_a}, {bytes(x.numpy()) for x in rest.train_a}
    assert held <= train_rows and not held & kept, "held-out images are training images no longer trained on"
    pairs = {bytes(a.numpy()): bytes(b.numpy()) for a, b in zip(data.train_a, data.train_b)}
    assert all(pairs[bytes(a.numpy())] == bytes(b.numpy()) for a, b in zip(val_a, val_b)), "pairs stay pairs"
    again = split_validation(data, 0)[1]
    assert torch.equal(again, val_a) and VAL_SPLIT_SEED == 0, "same split for every job (every seed and method)"


def test_the_grid_and_the_schedule_know_the_same_policies():
    from kd_gan_bench.benchmarks.families.families import FAMILIES
    from kd_gan_bench.methods.core.training import SELECT

    for family in FAMILIES.names():
        assert FAMILIES.get(family).schedule_declared["select"].choices == SELECT, family


@pytest.mark.parametrize("schedule_cls", [Schedule, SGDSchedule])
def test_bad_checkpoint_policies_are_refused(schedule_cls):
    for values, message in (({"select": "best_test"}, "select must be one of"), ({"val_every": -1}, ">= 0")):
        try:
            schedule_cls.from_mapping(values)
        except ValueError as exc:
            assert message in str(exc)
        else:
            raise AssertionError(f"{values} was accepted")

def test_a_bad_policy_stops_the_grid_before_anything_runs(tmp_path):
    proc = cli(*ARGS, "--results", str(tmp_path / "r"), "--set", "schedule.select=best_test", check=False)
    assert proc.returncode == 2 and "schedule.select: expected one of 'last', 'best_val', got 'best_test'" in proc.stderr
    assert not list((tmp_path / "r").glob("jobs/*/record.json"))
