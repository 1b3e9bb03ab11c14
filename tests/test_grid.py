"""Registries, suites and grid expansion through the public API."""
from __future__ import annotations

import pytest

from kd_gan_bench.benchmarks.planning.grid import expand, expand_hparams
from kd_gan_bench.benchmarks.planning.overrides import OverrideError, parse_value
from kd_gan_bench.benchmarks.planning.suites import SUITES
from kd_gan_bench.methods import METHODS
from kd_gan_bench.benchmarks.core.registry import Registry, UnknownNameError


def test_unknown_name_lists_valid_names_and_nearest_match():
    with pytest.raises(UnknownNameError) as err:
        METHODS.get("output_dk")
    message = str(err.value)
    assert "Did you mean 'output_kd'?" in message
    for name in ("scratch", "output_kd", "feature_kd"):
        assert name in message


def test_registry_decorator_and_patterns():
    reg: Registry = Registry("thing")

    @reg.register("alpha_one")
    def alpha():
        """First."""

    reg.add("beta", object())
    assert reg.get("alpha_one") is alpha
    assert reg.names("alpha*") == ["alpha_one"]
    with pytest.raises(ValueError, match="registered twice"):
        reg.add("beta", object())


def test_job_ids_are_stable_and_change_with_the_config():
    suite = SUITES.get("smoke")
    first = [j.job_id for j in expand(suite)]
    assert first == [j.job_id for j in expand(suite)]
    assert len(set(first)) == len(first)
    changed = [j.job_id for j in expand(suite, overrides=["output_kd.lambda_recon=5"])]
    assert set(changed) - set(first), "a changed hyperparameter must give new ids"
    teachers = [j for j in expand(suite) if j.phase == "teacher"]
    assert {j.job_id for j in teachers} <= set(changed), "teachers do not depend on a student hyperparameter"
    renamed = suite.with_changes(name="other")
    assert [j.job_id for j in expand(renamed)] == first, "the suite name is a label, not part of the identity"


def test_teachers_first_and_students_depend_on_them():
    jobs = expand(SUITES.get("smoke"))
    phases = [j.phase for j in jobs]
    assert phases == sorted(phases, key=["teacher", "artifact", "student"].index)
    by_id = {j.job_id: j for j in jobs}
    teacher_ids = {j.job_id for j in jobs if j.phase == "teacher"}
    for job in jobs:
        if job.method in ("output_kd", "feature_kd", "srpkd", "reko", "vanilla_kd", "cgan_kd", "cgan_kd_fake_set"):
            assert job.teacher_id in teacher_ids
        if job.method in ("scratch", "crd", "omgd", "nokd"):  # no teacher, or one trained inside the job (crd, omgd)
            assert job.teacher_id is None and not job.dependencies
        if job.method == "cgan_kd":  # the fake set of its own teacher and the NOKD student of its own spec
            fake, init = by_id[job.inputs["fake_set"]], by_id[job.inputs["student_init"]]
            assert fake.phase == "artifact" and fake.teacher_id == job.teacher_id and fake.task == job.task
            assert init.method == "nokd" and init.student == job.student and init.seed == job.seed
            assert job.dependencies == (job.teacher_id, fake.job_id, init.job_id)
    assert {j.suite for j in jobs} == {"smoke"}, "a composite suite's jobs carry its name"


def test_composite_suite_spreads_overrides_and_filters_over_its_parts():
    suite = SUITES.get("smoke")
    jobs = expand(suite, overrides=["teacher.ngf=12", "fake_set.gan_steps=3", "schedule.steps=5"])
    assert {j.teacher.get("ngf") for j in jobs if j.family == "i2i"} == {12}
    assert all("ngf" not in j.teacher for j in jobs if j.family != "i2i")
    assert {j.hparams["gan_steps"] for j in jobs if j.phase == "artifact"} == {3}
    assert {j.schedule["steps"] for j in jobs if j.phase != "artifact"} == {5}
    with pytest.raises(OverrideError, match="no argument 'ngff'"):  # valid in no part: the first part's message
        expand(suite, overrides=["teacher.ngff=3"])
    with pytest.raises(OverrideError, match="has no cgan_kd_fake_set"):
        expand(SUITES.get("smoke_i2i"), overrides=["fake_set.gan_steps=3"])
    # filtering on cgan_kd keeps what it reads: its teacher, the fake set and the NOKD student
    jobs = expand(suite, methods=["cgan_kd"])
    assert sorted(j.method for j in jobs) == sorted(["teacher", "teacher", "cgan_kd_fake_set", "cgan_kd_fake_set",
                                                     "nokd", "nokd", "cgan_kd", "cgan_kd"])
    assert {j.task for j in expand(suite, tasks=["synthetic_rotation"])} == {"synthetic_rotation"}
    assert {j.family for j in expand(suite, tasks=["cifar100"])} == {"classification"}  # a task of no part: by family
    with pytest.raises(ValueError, match="no classification part for task 'synthetic_shapes10'"):
        expand(SUITES.get("smoke_i2i"), tasks=["synthetic_shapes10"])
    assert len({j.job_id for j in expand(suite)}) == len(expand(suite)), "every job once"
    duplicated = SUITES.get("smoke_i2i").with_changes(students=SUITES.get("smoke_i2i").students * 2)
    assert len(expand(duplicated)) == len(expand(SUITES.get("smoke_i2i"))), "equal configurations are one job"


def test_filters_narrow_the_grid():
    suite = SUITES.get("smoke")
    jobs = expand(suite, tasks=["synthetic_edges2shapes"], methods=["output_kd"], seeds=[0, 1])
    assert {j.task for j in jobs} == {"synthetic_edges2shapes"}
    assert {j.method for j in jobs} == {"teacher", "output_kd"}
    assert sorted({j.seed for j in jobs}) == [0, 1]
    assert len(jobs) == 1 + 2 * len(SUITES.get("smoke_i2i").students)
    with pytest.raises(UnknownNameError, match="Valid task names"):
        expand(suite, tasks=["horse2zebraa"])


def test_one_teacher_per_task_serves_every_seed_unless_the_suite_says_otherwise():
    suite = SUITES.get("smoke")
    jobs = expand(suite, seeds=[3, 4, 5])
    teachers = [j for j in jobs if j.phase == "teacher"]
    n_tasks = sum(len(SUITES.get(part).tasks) for part in suite.parts)
    assert len(teachers) == n_tasks and {j.seed for j in teachers} == {0}
    students = [j for j in jobs if j.phase == "student"]
    assert {j.seed for j in students} == {3, 4, 5}
    teacher_ids = {j.job_id for j in teachers}
    assert {j.teacher_id for j in students if j.teacher_id} <= teacher_ids
    fake_sets = [j for j in jobs if j.phase == "artifact"]
    assert {j.seed for j in fake_sets} == {0}, "a task's fake set is made once, from its one teacher"
    per_seed = expand(SUITES.get("smoke_i2i").with_changes(teacher_seed=None), seeds=[3, 4])
    per_seed_teachers = {(j.task, j.seed): j.job_id for j in per_seed if j.phase == "teacher"}
    assert len(per_seed_teachers) == 2 * len(SUITES.get("smoke_i2i").tasks)
    for job in per_seed:
        if job.phase == "student" and job.teacher_id:
            assert job.teacher_id == per_seed_teachers[(job.task, job.seed)]
    seed0 = [j.job_id for j in expand(suite, seeds=[0])]
    assert set(seed0) <= {j.job_id for j in expand(suite, seeds=[0, 1, 2])}, "seed 0's job ids do not change"


def test_hparam_grid_is_cartesian_with_zipped_keys():
    grid = {"a": [1, 2], "b": [10, 20], "c": ["x", "y", "z"]}
    assert len(expand_hparams("m", grid)) == 12
    zipped = expand_hparams("m", grid, zipped=[("a", "b")])
    assert len(zipped) == 6
    assert {(h["a"], h["b"]) for h in zipped} == {(1, 10), (2, 20)}
    with pytest.raises(ValueError, match="equal length"):
        expand_hparams("m", grid, zipped=[("a", "c")])


def test_overrides_apply_and_list_axes_expand():
    suite = SUITES.get("smoke")
    jobs = expand(suite, overrides=["teacher.ngf=12", "task.size=16", "output_kd.lambda_recon=[1, 10]",
                                     "student_schedule.steps=7"])
    assert all(j.teacher["ngf"] == 12 for j in jobs if j.family == "i2i")
    assert all(j.task_args["size"] == 16 for j in jobs)
    kd = [j for j in jobs if j.method == "output_kd"]
    assert sorted(j.hparams["lambda_recon"] for j in kd) == [1, 1, 10, 10]
    assert {j.schedule["steps"] for j in jobs if j.phase == "student"} == {7}
    assert {j.schedule["steps"] for j in jobs if j.phase == "teacher" and j.family == "i2i"} == {
        SUITES.get("smoke_i2i").teacher_schedule["steps"]}


@pytest.mark.parametrize("item, message", [
    ("teacher.ngf", "expected KEY=VALUE"),
    ("teacher.ngff=3", "valid: arch, dropout"),
    ("teacher.ngf=abc", "expected a int"),
    ("output_kd.lambda_recon=[1,", "cannot parse value"),
    ("output_kd.nope=1", "valid: d_init, d_step, init, lambda_gan, lambda_recon"),
    ("outputkd.lambda=1", "Did you mean 'output_kd'"),
    ("schedule.stepz=3", "valid: batch_size"),
    ("task.colour=3", "valid: colours, n_test, n_train, seed, size"),
])
def test_malformed_overrides_say_what_is_valid(item, message):
    with pytest.raises(OverrideError, match=message.replace("[", r"\[")):
        expand(SUITES.get("smoke"), overrides=[item])


def test_parse_value():
    assert parse_value("3") == 3 and parse_value("0.5") == 0.5 and parse_value("true") is True
    assert parse_value("null") is None and parse_value("[1,2]") == [1, 2]
    assert parse_value("mobile_resnet_generator") == "mobile_resnet_generator"
