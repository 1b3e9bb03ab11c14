"""Conformance of every registered task and suite (the way timm parametrizes over ``list_models()``): a new
entry is tested here without writing a test for it. Metrics: tests/test_metric_specs.py; methods:
tests/test_method_conformance.py; lazy entries against their objects: tests/test_registries.py."""
from __future__ import annotations

import inspect

import pytest
import torch

from kd_gan_bench.benchmarks.planning.cluster_config import SlurmResources
from kd_gan_bench.benchmarks.core.config import PHASES
from kd_gan_bench.benchmarks.families.families import FAMILIES
from kd_gan_bench.benchmarks.planning.grid import expand
from kd_gan_bench.benchmarks.metrics import METRICS
from kd_gan_bench.benchmarks.planning.overrides import suite_family
from kd_gan_bench.benchmarks.planning.suites import SUITES
from kd_gan_bench.datasets import TASKS, ImageTranslationData, LabelledImageData, load_task
from kd_gan_bench.datasets import DatasetError as LabelledDataError
from kd_gan_bench.datasets.errors import DatasetError
from kd_gan_bench.datasets.registry import quality_metrics
from kd_gan_bench.methods import METHODS

TINY = {"size": 16, "n_train": 6, "n_test": 4}
REAL_DATA_ARGS = ("root", "data_root")  # a task reading a data root is a real dataset's


def _real(name: str) -> bool:
    return any(arg in TASKS.info(name).defaults for arg in REAL_DATA_ARGS)
#: What loading a real dataset that is not prepared raises: the dataset errors that say how to prepare it.
NOT_PREPARED = (DatasetError, LabelledDataError, FileNotFoundError)


@pytest.mark.parametrize("name", TASKS.names())
def test_task_declares_what_its_loader_takes(name):
    info = TASKS.get(name)
    arguments = inspect.signature(info.loader).parameters
    assert info.family in FAMILIES and info.description
    assert set(info.defaults) <= set(arguments) or any(p.kind == p.VAR_KEYWORD for p in arguments.values())
    if FAMILIES.get(info.family).by_pairing:
        assert info.fid_protocol in ("target_test", "target_train_test")


@pytest.mark.parametrize("name", TASKS.names())
def test_task_declares_a_headline_quality_metric_of_its_family(name):
    """The task's headline and the quality metrics it records beside it are quality metric specs its family's jobs
    compute (every family's job body scores through the specs); one the harness computes for a task
    (``task_metric``) is tied to exactly that name."""
    info = TASKS.info(name)
    assert len(set(quality_metrics(info))) == len(quality_metrics(info))
    for m in quality_metrics(info):
        spec = METRICS.get(m)
        assert spec.kind == "quality" and (not spec.families or info.family in spec.families), (name, m)
        assert spec.compute is not None, (name, m)
        assert spec.task_metric in (None, m), (name, m)


@pytest.mark.parametrize("name", [n for n in TASKS.names() if not _real(n)])
def test_built_in_task_loads_tiny_and_deterministic(name):
    info = TASKS.info(name)
    args = {k: v for k, v in TINY.items() if k in info.defaults}
    data, again = load_task(name, **args), load_task(name, **args)
    if isinstance(data, ImageTranslationData):
        for split in ("train_a", "train_b", "test_a", "test_b"):
            images = getattr(data, split)
            assert images.dtype == torch.uint8 and images.shape[1:] == (3, 16, 16), split
            assert torch.equal(images, getattr(again, split)), f"{split} differs between two loads"
        assert data.paired == info.paired and (len(data.train_a) == len(data.train_b) or not data.paired)
    else:
        assert isinstance(data, LabelledImageData) and data.family == info.family
        assert data.train_x.dtype == torch.uint8 and tuple(data.train_x.shape[1:]) == (3, 16, 16)
        assert torch.equal(data.test_y, again.test_y)


@pytest.mark.parametrize("name", [n for n in TASKS.names() if _real(n)])
def test_real_task_without_its_data_says_how_to_get_it(name, tmp_path, monkeypatch):
    monkeypatch.setenv("KDGAN_DATA_ROOT", str(tmp_path))
    with pytest.raises(NOT_PREPARED, match=r"(?i)prepare|expected"):
        load_task(name)


@pytest.mark.parametrize("name", SUITES.names())
def test_suite_expands_into_a_consistent_grid(name):
    suite = SUITES.get(name)
    jobs = expand(suite)
    assert jobs and len({j.job_id for j in jobs}) == len(jobs)
    assert [j.phase for j in jobs] == sorted((j.phase for j in jobs), key=PHASES.index), "teachers first"
    ids = {j.job_id for j in jobs}
    for job in jobs:
        assert set(job.dependencies) <= ids, f"{job.job_id} depends on a job outside the grid"
        assert job.family in FAMILIES and job.task in TASKS
        if job.phase == "student":
            assert job.family in METHODS.info(job.method).families
    for part in (SUITES.get(p) for p in suite.parts) if suite.parts else (suite,):
        assert suite_family(part) in FAMILIES
        for phase, request in part.resources.items():
            assert phase in PHASES and set(request) <= set(SlurmResources.__dataclass_fields__), (phase, request)
        assert all(seed >= 0 for seed in part.seeds)
