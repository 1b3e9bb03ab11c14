"""The training plan of a grid's jobs, torch-free: ``python -m kd_gan_bench.benchmarks.run plan --suite NAME [--json]``.

For every job the grid would run: its method, task, seed and id, and (from the method's declaration in
:mod:`kd_gan_bench.methods.core.plan_specs`, which reads the same schedule and weight functions as the job; a teacher's, from its
family's ``teacher_plan``) per network it trains,
keyed by role, the steps, the epochs over the task's training split, the batch, optimiser, betas, learning rate
and its schedule; every network's arch, width, norm, dropout and init; the GAN mode and loss weights; and how
student and teacher steps interleave. Every job record stores its plan (``plan``) and the leaderboard shows it per
row, so a run can be checked against the public code's schedule before and after it spends GPU-hours
(``tests/conformance/``).

An epoch is the task's training examples: its pairs (pix2pix), ``max(|A|, |B|)`` (CycleGAN's ``UnalignedDataset``)
or its labelled images, from the official split sizes for the real datasets (:mod:`kd_gan_bench.datasets.official_counts`) and
``n_train`` for the built-in ones. ``best_val``'s held-out examples are not subtracted.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from kd_gan_bench.benchmarks.core.config import JobConfig
from kd_gan_bench.benchmarks.families.families import FAMILIES, load_object
from kd_gan_bench.datasets import TASKS
from kd_gan_bench.datasets.official_counts import CITYSCAPES, CYCLEGAN, PIX2PIX
from kd_gan_bench.methods.core.plan_specs import JobFacts, method_plan

#: Training examples of the labelled real datasets (CIFAR: 50,000; UTKFace ages 1-60: 80% of about 14,760).
LABELLED_TRAIN = {"cifar10": 50000, "cifar100": 50000, "tiny_imagenet": 100000, "utkface": int(0.8 * 14760)}


def train_examples(task: str, task_args: Mapping[str, Any]) -> int | None:
    """Examples in one epoch of ``task``'s training split (``None``: not known before its data is read)."""
    info = TASKS.info(task)
    args = {**info.defaults, **task_args}
    dataset = getattr(info, "dataset", None) or task
    if dataset in CYCLEGAN:
        n: int | None = max(CYCLEGAN[dataset]["trainA"], CYCLEGAN[dataset]["trainB"])
    elif PIX2PIX.get(dataset, {}).get("train"):
        n = PIX2PIX[dataset]["train"]
    elif dataset == "cityscapes":
        n = CITYSCAPES["train"]
    else:
        n = args.get("n_train", LABELLED_TRAIN.get(dataset))
    if n is not None and args.get("max_train"):
        n = min(n, int(args["max_train"]))
    return n


def job_facts(job: JobConfig) -> JobFacts:
    """What the method's plan reads of ``job``: its schedule completed by the family's defaults."""
    info = TASKS.info(job.task)
    family = FAMILIES.get(job.family)
    return JobFacts(method=job.method, phase=job.phase, family=job.family, paired=bool(info.paired),
                    n_train=train_examples(job.task, job.task_args), student=job.student, teacher=job.teacher,
                    hparams=job.hparams, schedule={**family.schedule_defaults, **job.schedule}, recipe=job.recipe)


def job_plan(job: JobConfig) -> dict[str, Any]:
    """The plan of one job: ``method``, ``task``, ``seed``, ``job_id``, ``phase``, then ``trains``, ``networks``,
    ``losses`` and ``interleave``."""
    head = {"job_id": job.job_id, "phase": job.phase, "method": job.method, "task": job.task, "seed": job.seed}
    plan = load_object(FAMILIES.get(job.family).teacher_plan) if job.phase == "teacher" else method_plan
    return {**head, **plan(job_facts(job))}


def plans(jobs: Iterable[JobConfig]) -> list[dict[str, Any]]:
    return [job_plan(job) for job in jobs]


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return str(value)


def _schedule(train: Mapping[str, Any]) -> str:
    lr = train["lr_schedule"]
    if lr["policy"] == "constant":
        shape = "constant lr"
    elif lr["policy"] == "linear_decay":
        shape = f"{_value(lr['constant_epochs'])} const + {_value(lr['decay_epochs'])} decay ep"
    else:
        shape = f"{lr['policy']} x{_value(lr['gamma'])} at ep {_value(lr.get('milestone_epochs', []))}"
    opt = (f"adam b={_value(train['betas'])}" if "betas" in train else "adam") if train["optimizer"] == "adam" else \
        f"sgd m={_value(train['momentum'])} wd={_value(train['weight_decay'])}"
    return (f"{train['steps']} steps = {_value(train['epochs'])} ep, batch {train['batch']}, {opt}, "
            f"lr {_value(train['lr'])}, {shape}")


def _network(net: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} {_value(v)}" for k, v in net.items())


def format_plans(job_plans: Iterable[Mapping[str, Any]]) -> str:
    """A readable tree per job: its networks by role (with what trains them), losses and interleaving."""
    out = []
    for plan in job_plans:
        out.append(f"{plan['job_id']}  {plan['phase']} {plan['method']} on {plan['task']}, seed {plan['seed']}")
        for role, net in plan["networks"].items():
            train = plan["trains"].get(role)
            out.append(f"  {role:<24} {_network(net)}")
            out.append(f"  {'':<24} trains: {_schedule(train) if train else 'no (frozen or loaded)'}")
        if plan["losses"]:
            out.append("  losses: " + ", ".join(f"{k} {_value(v)}" for k, v in plan["losses"].items()))
        out.append(f"  interleave: {plan['interleave']}")
    return "\n".join(out)
