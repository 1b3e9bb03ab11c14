"""Checkpoint policy: every record says which weights were scored (``last`` by default); ``schedule.select=best_val``
keeps the weights with the best FID on a validation split carved from the training data, never the test set."""
from __future__ import annotations

import torch

from benchmarks.i2i_jobs import VAL_SPLIT_SEED, split_validation
from datasets.base import load_task
from methods.training import Schedule, validation_size

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
    from benchmarks.families import FAMILIES
    from methods.training import SELECT

    assert FAMILIES.get("i2i").schedule_params["select"].choices == SELECT


def test_bad_checkpoint_policies_are_refused():
    for values, message in (({"select": "best_test"}, "select must be one of"), ({"val_every": -1}, ">= 0")):
        try:
            Schedule.from_mapping(values)
        except ValueError as exc:
            assert message in str(exc)
        else:
            raise AssertionError(f"{values} was accepted")

def test_a_bad_policy_stops_the_grid_before_anything_runs(tmp_path):
    proc = cli(*ARGS, "--results", str(tmp_path / "r"), "--set", "schedule.select=best_test", check=False)
    assert proc.returncode == 2 and "schedule.select: expected one of 'last', 'best_val', got 'best_test'" in proc.stderr
    assert not list((tmp_path / "r").glob("jobs/*/record.json"))
