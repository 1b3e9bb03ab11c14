"""Training plans, torch-free: the pieces every method's plan (``methods/<method>/plan.py``) is made of, the
teachers' and the labelled methods' plans, and :func:`method_plan`. A plan says, per network it trains (keyed by
role), the steps, epochs, batch, optimiser and learning-rate schedule; every network it builds; its GAN mode and
loss weights; and how its student and teacher steps interleave. ``python -m kd_gan_bench.benchmarks.run plan`` prints it (:mod:`kd_gan_bench.benchmarks.planning.training_plan`)
and every job record stores it.

Nothing is restated here: the numbers come from the functions the jobs call (:mod:`kd_gan_bench.methods.core.schedule_math`,
:mod:`kd_gan_bench.methods.core.loss_weights`, :mod:`kd_gan_bench.methods.core.recipe_settings`, :mod:`kd_gan_bench.methods.core.plan_checks`), so a plan cannot
drift from what runs. A method's declaration names its plan function (``plan=`` in ``methods/<method>/spec.py``),
an artifact's its ``plan``.

Roles: ``student``, ``discriminator`` (the student's own), ``teacher`` (pretrained, frozen, or the teacher job's),
``online_teacher`` and ``teacher_discriminator`` (trained inside the job: CRD, DCD, OMGD on CycleGAN),
``teacher_wide``/``teacher_deep`` (OMGD's two pix2pix teachers), ``*_BA``/``*_A`` (CycleGAN's second generator and
discriminator), and auxiliary nets (``adaptor``, ``connector``, ``projection``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from kd_gan_bench.methods.core.loss_weights import gan_compression_recipe
from kd_gan_bench.methods.networks.network_spec import network_args
from kd_gan_bench.methods.core.plan_checks import TRANSFER_INIT, online_student_spec, transfer_problem
from kd_gan_bench.methods.core.recipe_settings import resolve_recipe
from kd_gan_bench.benchmarks.core.registry import ARTIFACTS, METHODS
from kd_gan_bench.methods.core.schedule_math import d_steps_first, epoch_steps, online_schedule

#: How the harness initialises a network it builds (PyTorch's layer defaults), and OMGD's/DCD's adaptors.
DEFAULT_INIT = "pytorch_default"
NORMAL_INIT = "normal(0, 0.02)"
#: How a classifier initialises itself (:class:`kd_gan_bench.methods.networks.classifiers.LabelledNet`, RepDistiller's).
CLASSIFIER_INIT = "kaiming_normal fan_out convs, BN 1/0, fc N(0, 0.01)"
#: VGG16's input: (x + 1) / 2 without ImageNet mean/std (the GAN Compression codebases' ``utils/vgg_feature.py``).
VGG_UNIT = "unit: (x + 1) / 2, no ImageNet mean/std"


@dataclass(frozen=True)
class JobFacts:
    """What a plan reads of one job: its method and hyperparameters (defaults filled), its networks' specs, its
    task (pairing, examples per epoch: pairs, or max(|A|, |B|) unpaired; ``None`` when unknown before the data is
    read), its resolved schedule and its recipe overrides."""

    method: str
    phase: str
    family: str
    paired: bool
    n_train: int | None
    student: Mapping[str, Any] | None
    teacher: Mapping[str, Any]
    hparams: Mapping[str, Any]
    schedule: Mapping[str, Any]
    recipe: Mapping[str, Any]


def init_of(settings: Mapping[str, Any]) -> str:
    """The init a method's ``init`` hyperparameter (or the recipe's) names: ``normal`` is the GAN Compression
    codebases' ``init_net`` N(0, 0.02); ``pytorch`` or none, PyTorch's layer defaults."""
    return NORMAL_INIT if settings.get("init") == "normal" else DEFAULT_INIT


def student_spec(facts: JobFacts) -> dict[str, Any]:
    """The student as the job builds it (:func:`kd_gan_bench.methods.core.plan_checks.online_student_spec`)."""
    return online_student_spec(facts.hparams, facts.student or {})


def dropout_rate(spec: Mapping[str, Any]) -> float:
    """A network's dropout as a number: its spec's or its architecture's default (a U-Net's ``True`` is pix2pix's
    0.5 at its innermost ngf x 8 levels)."""
    value = spec.get("dropout", network_args(str(spec["arch"])).get("dropout", 0.0))
    return 0.5 if value is True else float(value or 0.0)


def network(spec: Mapping[str, Any], init: str = DEFAULT_INIT, **extra: Any) -> dict[str, Any]:
    """The plan's view of one network: arch, width, norm, dropout and init (``extra``: anything else to show)."""
    args = {**network_args(str(spec["arch"])), **spec}
    out: dict[str, Any] = {"arch": spec["arch"]}
    for key in ("ngf", "ndf", "n_blocks", "num_downs", "n_layers", "n_share"):
        if key in args:
            out[key] = args[key]
    if "norm" in args:
        out["norm"] = args["norm"]
    out["dropout"] = dropout_rate(args) if "dropout" in args else 0.0
    out["init"] = str(spec["checkpoint"]) if spec.get("checkpoint") else init
    return {**out, **extra}


def discriminator(recipe: Mapping[str, Any], paired: bool, init: str = DEFAULT_INIT) -> dict[str, Any]:
    """The recipe's PatchGAN (conditional: 6 input channels, for paired tasks)."""
    return network({"arch": "patchgan_discriminator", "input_nc": 6 if paired else 3, "ndf": recipe["ndf"],
                    "n_layers": recipe["d_layers"], "norm": recipe["d_norm"]}, init)


def epochs_of(steps: int, per_epoch: int | None) -> float | None:
    return None if per_epoch is None else round(steps / per_epoch, 4)


def adam_training(steps: int, schedule: Mapping[str, Any], per_epoch: int | None,
                  decay_from: float | None = None) -> dict[str, Any]:
    """One network's training under Adam with a constant-then-linear-decay learning rate (pix2pix/CycleGAN)."""
    decay_from = schedule["decay_from"] if decay_from is None else decay_from
    constant = int(steps * decay_from)
    return {"steps": steps, "epochs": epochs_of(steps, per_epoch), "batch": schedule["batch_size"],
            "optimizer": "adam", "betas": [schedule["beta1"], 0.999], "lr": schedule["lr"],
            "lr_schedule": {"policy": "linear_decay", "constant_epochs": epochs_of(constant, per_epoch),
                            "decay_epochs": epochs_of(steps - constant, per_epoch), "constant_steps": constant,
                            "decay_steps": steps - constant}}


def sgd_training(schedule: Mapping[str, Any], per_epoch: int | None) -> dict[str, Any]:
    """One classifier's training under SGD with step (or cosine) decay (RepDistiller's, cGAN-KD's)."""
    steps = schedule["steps"]
    milestones = [round(steps * m) for m in schedule["milestones"]]
    return {"steps": steps, "epochs": epochs_of(steps, per_epoch), "batch": schedule["batch_size"], "optimizer": "sgd",
            "momentum": schedule["momentum"], "weight_decay": schedule["weight_decay"], "lr": schedule["lr"],
            "lr_schedule": {"policy": schedule["lr_policy"], "gamma": schedule["gamma"],
                            "milestone_epochs": [epochs_of(m, per_epoch) for m in milestones]}}


def epoch_steps_of(facts: JobFacts, batch: int | None = None) -> int | None:
    return None if facts.n_train is None else epoch_steps(facts.n_train, batch or facts.schedule["batch_size"])


def _recipe_losses(recipe: Mapping[str, Any], paired: bool) -> dict[str, Any]:
    if paired:
        return {"gan_mode": recipe["gan_mode"], "lambda_l1": recipe["lambda_l1"]}
    return {"gan_mode": recipe["gan_mode"], "lambda_cycle": recipe["lambda_cycle"],
            "lambda_identity": recipe["lambda_identity"], "pool_size": recipe["pool_size"]}


def recipe_plan(facts: JobFacts, spec: Mapping[str, Any], generator_role: str, d_role: str) -> dict[str, Any]:
    """A generator trained with the task's recipe (the teacher job, ``scratch``): pix2pix's G and D, or
    CycleGAN's two of each, every network one step per iteration."""
    recipe = resolve_recipe(facts.recipe, facts.paired)
    train = adam_training(facts.schedule["steps"], facts.schedule, epoch_steps_of(facts))
    init = init_of(recipe)
    roles = [(generator_role, network(spec, init)), (d_role, discriminator(recipe, facts.paired, init))]
    if not facts.paired:
        roles += [(f"{generator_role}_BA", network(spec, init)),
                  (f"{d_role}_A", discriminator(recipe, facts.paired, init))]
    return {"trains": {role: train for role, _ in roles}, "networks": dict(roles),
            "losses": _recipe_losses(recipe, facts.paired),
            "interleave": "per_iteration: " + ("D step, then G step" if facts.paired else "G step, then D step")}


def teacher_plan(facts: JobFacts) -> dict[str, Any]:
    """The teacher job: a published checkpoint is loaded (nothing trains), else the task's recipe trains it."""
    if facts.teacher.get("checkpoint"):
        return {"trains": {}, "networks": {"teacher": network(facts.teacher)}, "losses": {},
                "interleave": "none: published checkpoint loaded"}
    return recipe_plan(facts, facts.teacher, "teacher", "teacher_discriminator")


def loop_plan(facts: JobFacts, losses: Mapping[str, Any], student_init: str | None = None,
               recipe: Mapping[str, Any] | None = None, aux: Mapping[str, dict[str, Any]] | None = None
               ) -> dict[str, Any]:
    """The pretrained-teacher loop (:mod:`kd_gan_bench.methods.core.distill`): student and discriminator (and the method's ``aux``
    nets, optimised with the student), one step each per iteration, against the frozen teacher."""
    hp = facts.hparams
    recipe = dict(recipe or resolve_recipe(facts.recipe, facts.paired))
    base = resolve_recipe(facts.recipe, facts.paired)
    d_from_teacher = (hp.get("d_init", "teacher") == "teacher" and not facts.teacher.get("checkpoint")
                      and all(recipe[k] == base[k] for k in ("ndf", "d_layers", "d_norm")))
    train = adam_training(facts.schedule["steps"], facts.schedule, epoch_steps_of(facts))
    fresh = init_of(hp)
    networks = {"student": network(facts.student or {}, student_init or fresh),
                "discriminator": discriminator(recipe, facts.paired, "teacher's D" if d_from_teacher else fresh),
                "teacher": {**network(facts.teacher), "frozen": True}, **(aux or {})}
    trains = {role: train for role in ("student", "discriminator", *(aux or {}))}
    return {"trains": trains, "networks": networks,
            "losses": {"gan_mode": recipe["gan_mode"], "lambda_gan": hp.get("lambda_gan", 1.0), **losses},
            "interleave": loop_interleave(hp["d_step"])}


def loop_interleave(d_step: str) -> str:
    """The order of the loop's discriminator and student steps (``d_step``, :data:`kd_gan_bench.methods.core.schedule_math.D_STEPS`)."""
    if d_steps_first(d_step):
        return "per_iteration (d_step=before_g, CAT's order): D step, then student step (teacher frozen)"
    return ("per_iteration (d_step=after_g, GAN Compression's order): D backward, student backward (its GAN term "
            "against the D of before this iteration), then D step and student step (teacher frozen)")


def gan_compression_student_plan(facts: JobFacts, losses: Mapping[str, Any],
                             aux: Mapping[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """feature_kd and cat_ka (:class:`kd_gan_bench.methods.core.gan_compression.GanCompressionStudent`): the student from the teacher's
    weights where they transfer, the code's pix2pix discriminator."""
    hp = facts.hparams
    recipe = gan_compression_recipe(hp, resolve_recipe(facts.recipe, facts.paired), facts.paired)
    transfer = hp["student_init"] != "scratch" and not transfer_problem(facts.teacher, facts.student or {})
    return loop_plan(facts, losses, TRANSFER_INIT if transfer else None, recipe, aux)


def online_plan_schedule(facts: JobFacts, method: str) -> tuple[Any, int | None]:
    """The online-teacher schedule (:func:`kd_gan_bench.methods.core.schedule_math.online_schedule`) and the steps of one epoch."""
    sched, per_epoch = facts.schedule, epoch_steps_of(facts)
    plan = online_schedule(facts.hparams, facts.paired, facts.n_train or 1, sched["steps"], sched["batch_size"],
                           sched["decay_from"], method)
    return plan, per_epoch if facts.n_train else None


def online_interleave(facts: JobFacts, plan: Any) -> str:
    if facts.paired:
        return f"per_iteration n_dis={plan.n_dis}: a teacher step every {plan.n_dis} iteration(s), then a student step"
    window = facts.hparams["window_epochs"]
    return (f"windows: {window:g} teacher epochs / {window * plan.n_dis:g} student epochs (n_dis={plan.n_dis}, "
            f"steps_count={facts.hparams['steps_count']}, teacher_select={facts.hparams['teacher_select']})")


def online_teacher_roles(facts: JobFacts, spec: Mapping[str, Any], plan: Any, per_epoch: int | None,
                          recipe: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The teacher a CRD/DCD/OMGD-on-CycleGAN job trains with the task's recipe: trains and networks by role. Its
    learning rate follows the student's schedule shape, stepping with the student (constant, then decaying)."""
    train = adam_training(plan.teacher_steps, facts.schedule, per_epoch, plan.decay_from)
    init = init_of(facts.hparams) if "init" in facts.hparams else init_of(recipe)
    roles = {"online_teacher": network(spec, init), "teacher_discriminator": discriminator(recipe, facts.paired, init)}
    if not facts.paired:
        roles.update(online_teacher_BA=network(spec, init),
                     teacher_discriminator_A=discriminator(recipe, facts.paired, init))
    return {role: train for role in roles}, roles


def labelled_plan(facts: JobFacts) -> dict[str, Any]:
    """A classifier or regressor (teacher, NOKD, Hinton KD) trained with SGD on the real training set."""
    role = "teacher" if facts.phase == "teacher" else "student"
    spec = facts.teacher if role == "teacher" else facts.student or {}
    hp = facts.hparams
    losses = {k: hp[k] for k in ("reg_loss", "kd_T", "kd_weight", "label_weight") if k in hp}
    return {"trains": {role: sgd_training(facts.schedule, epoch_steps_of(facts))},
            "networks": {role: network(spec, CLASSIFIER_INIT)},
            "losses": losses, "interleave": "none"}


def method_plan(facts: JobFacts) -> dict[str, Any]:
    """The plan of one artifact or student job (``trains``, ``networks``, ``losses``, ``interleave``); a teacher's is
    its family's (``kd_gan_bench.benchmarks.families.families.Family.teacher_plan``: :func:`teacher_plan`, :func:`labelled_plan`)."""
    if facts.phase == "artifact":
        return ARTIFACTS.meta(facts.method)["plan"](facts)
    return METHODS.meta(facts.method)["plan"](facts)
