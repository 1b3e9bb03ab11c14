"""Planning checks: whether a method can work on a student job's networks, image size, hyperparameters and
schedule, answered before anything runs and without torch.

A method's declaration names its check (``check=`` in ``methods/<method>/spec.py``, the function
``check`` of the folder's torch-free ``checks.py``): a function of a :class:`StudentPlan` that raises
``ValueError`` saying what is wrong and what would work; this module holds what the checks share. The grid
runs it on every student job it expands (``grid --dry-run`` and a ``--no-wait`` submission included: neither
imports torch), and the method runs it again when it trains, so a method that cannot work on a network (SRPKD or
ReKo on a 1 x 1 layer, CAT's kernel alignment at batch 1) fails at planning with its own message and never trains
as something else.

What a check needs of the networks is computed from their specs (``kd_gan_bench.methods.networks.geometry``); a
method's check may live in any torch-free module.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

from kd_gan_bench.methods.networks.geometry import RESNETS, UNETS, feature_grids, spatial_encoder
from kd_gan_bench.methods.networks.network_spec import network_args
from kd_gan_bench.benchmarks.core.registry import METHODS


@dataclass(frozen=True)
class StudentPlan:
    """What a planning check sees of one student job: its networks' specs, the task's image side, the
    method's hyperparameters (completed by its defaults before the check runs) and the student schedule."""

    student: Mapping[str, Any]
    teacher: Mapping[str, Any]
    size: int
    hparams: Mapping[str, Any] = field(default_factory=dict)
    schedule: Mapping[str, Any] = field(default_factory=dict)


#: A planning check (raises ``ValueError``) and a weights check (the weights files a run reads).
PlanCheck = Callable[[StudentPlan], None]
WeightsCheck = Callable[[Mapping[str, Any], bool], "tuple[str, ...]"]

#: The perceptual-loss weights of CRD, DCD and OMGD (None: the paper's value for the kind of task, never 0).
PERCEPTUAL_WEIGHTS = ("lambda_style", "lambda_feature")


def uses_vgg16(hp: Mapping[str, Any], paired: bool) -> bool:
    """Whether a CRD, DCD or OMGD run builds VGG16: its perceptual terms are on, or, unpaired, it keeps its online
    teacher's best checkpoint by FID on VGG16 features (``teacher_select="best"``)."""
    return any(hp.get(k) != 0 for k in PERCEPTUAL_WEIGHTS) or (not paired and hp.get("teacher_select") == "best")


def online_teacher_weights(hp: Mapping[str, Any], paired: bool) -> tuple[str, ...]:
    """The weights files (:mod:`kd_gan_bench.methods.weights.resolver` names) a CRD, DCD or OMGD run reads: VGG16's ImageNet weights
    when it builds VGG16 and was given no file of its own (``vgg_weights``)."""
    return ("vgg16",) if uses_vgg16(hp, paired) and not hp.get("vgg_weights") else ()


def weights_needed(weights: WeightsCheck | None, defaults: Mapping[str, Any], hparams: Mapping[str, Any],
                   paired: bool) -> tuple[str, ...]:
    """The weights files a method's run reads, from the torch-free function its declaration names (``weights``;
    None: none) on its hyperparameters completed by ``defaults``, so ``grid`` can fetch them before the jobs
    start."""
    return tuple(weights({**defaults, **hparams}, paired)) if weights else ()


def run_plan_check(check: PlanCheck | None, defaults: Mapping[str, Any], plan: StudentPlan) -> None:
    """Run a method's planning check (None: every plan works) on ``plan``, its hyperparameters completed by
    ``defaults``."""
    if check:
        check(replace(plan, hparams={**defaults, **plan.hparams}))


def check_student_plan(method: str, plan: StudentPlan) -> None:
    """Run the planning check of registered ``method`` (its declaration's ``check``) without importing it."""
    meta = METHODS.meta(method)
    run_plan_check(meta["check"], meta["defaults"], plan)


# -- SRPKD and ReKo: a layer with a grid of positions --------------------------------------------------

def spatial_layer_name(hp: Mapping[str, Any], spec: Mapping[str, Any]) -> str:
    """The feature a position-relation method taps: ``hp["layer"]``, or for ``auto`` the network's
    spatial encoder (ResNet: the downsampling output; U-Net: down level 4)."""
    return spatial_encoder(str(spec["arch"])) if hp["layer"] == "auto" else hp["layer"]


def check_spatial_layer(method: str, plan: StudentPlan, min_positions: int) -> dict[str, tuple[int, int, int]]:
    """The layer exists in both networks and has at least ``min_positions`` positions there at the plan's
    size; returns its (student, teacher) shapes keyed ``student``/``teacher``."""
    try:
        layer = spatial_layer_name(plan.hparams, plan.student)
    except ValueError as exc:
        raise ValueError(f"method {method!r}: the student: {exc}") from None
    shapes = {}
    for role, spec in (("student", plan.student), ("teacher", plan.teacher)):
        try:
            grids = feature_grids(spec, plan.size)
        except ValueError as exc:
            raise ValueError(f"method {method!r}: layer {layer!r} of the {role}: {exc}") from None
        if layer not in grids:
            raise ValueError(f"method {method!r}: layer {layer!r} of the {role}: {spec['arch']} has no feature "
                             f"[{layer!r}]; valid: {', '.join(grids)}")
        shape = grids[layer]
        if shape[-2] * shape[-1] < min_positions:
            raise ValueError(f"method {method!r} relates positions of the {role}'s {layer!r} feature, which is "
                             f"{shape[-2]}x{shape[-1]} on {plan.size}x{plan.size} images ({spec['arch']}): it needs "
                             f"at least {min_positions} positions. Pick a layer with a spatial grid (--set "
                             f"{method}.layer=auto chooses the network's spatial encoder) or larger images.")
        shapes[role] = shape
    return shapes


# -- feature_kd and cat_ka: GAN Compression's student (weight transfer, pix2pix D) -------------------------

TRANSFERABLE = RESNETS
#: How a student that starts from its teacher's weights says so (the job's log and the training plan).
TRANSFER_INIT = "teacher (GAN Compression weight transfer)"
STUDENT_INITS = ("auto", "teacher", "scratch")
GAN_MODES = (None, "lsgan", "vanilla", "hinge")


def transfer_problem(teacher_spec: Mapping[str, Any], student_spec: Mapping[str, Any]) -> str | None:
    """Why the teacher's weights cannot initialise the student (GAN Compression's conditions), or None."""
    if teacher_spec["arch"] != student_spec["arch"] or student_spec["arch"] not in TRANSFERABLE:
        return (f"weight transfer needs teacher and student of one ResNet architecture ({', '.join(TRANSFERABLE)}), "
                f"got {teacher_spec['arch']} -> {student_spec['arch']}")
    depth = [spec.get("n_blocks", 9) for spec in (teacher_spec, student_spec)]
    width = [spec.get("ngf", 64) for spec in (teacher_spec, student_spec)]
    if depth[0] != depth[1] or width[0] < width[1]:
        return f"weight transfer needs equal n_blocks and teacher ngf >= student ngf, got {depth} and {width}"
    return None


def gan_compression_student(plan: StudentPlan, method: str) -> None:
    """feature_kd's and cat_ka's student settings (:class:`kd_gan_bench.methods.core.gan_compression.GanCompressionStudent`): their
    choices, and a teacher-initialised student only where the weights transfer."""
    hp = plan.hparams
    if hp["student_init"] not in STUDENT_INITS:
        raise ValueError(f"{method} student_init must be one of {STUDENT_INITS}, got {hp['student_init']!r}")
    if hp["gan_mode"] not in GAN_MODES:
        raise ValueError(f"{method} gan_mode must be one of {GAN_MODES}, got {hp['gan_mode']!r}")
    problem = transfer_problem(plan.teacher, plan.student)
    if hp["student_init"] == "teacher" and problem:
        raise ValueError(f"{method} student_init='teacher': {problem}; use student_init=auto (the transfer "
                         f"where it applies) or scratch")


# -- the online-teacher methods (CRD, OMGD, DCD) ---------------------------------------------------------

STEPS_COUNT = ("teacher", "student")
TEACHER_SELECT = ("best", "latest")
VGG_INPUTS = ("unit", "imagenet")


def check_schedule_hparams(hp: Mapping[str, Any], method: str = "crd") -> None:
    """Raise ``ValueError`` naming the valid values for a bad online-teacher schedule hyperparameter."""
    if hp["steps_count"] not in STEPS_COUNT:
        raise ValueError(f"{method} steps_count must be one of {STEPS_COUNT}, got {hp['steps_count']!r}")
    if hp["teacher_select"] not in TEACHER_SELECT:
        raise ValueError(f"{method} teacher_select must be one of {TEACHER_SELECT}, got {hp['teacher_select']!r}")
    if (hp["epochs"] is None) != (hp["epochs_decay"] is None):
        raise ValueError(f"{method} epochs and epochs_decay go together (teacher epochs at constant, then decaying "
                         f"learning rate; the public scripts: 100 and 100), got {hp['epochs']} and {hp['epochs_decay']}")
    if hp["epochs"] is not None and (hp["epochs"] < 0 or hp["epochs_decay"] < 0 or hp["epochs"] + hp["epochs_decay"] < 1):
        raise ValueError(f"{method} epochs + epochs_decay must be at least 1, got {hp['epochs']} + {hp['epochs_decay']}")
    if hp["window_epochs"] <= 0:
        raise ValueError(f"{method} window_epochs must be > 0 (the public script: 10), got {hp['window_epochs']}")


def resolve_patch_size(patch_size: int | None, image_size: int) -> int:
    """CRD's patch side: ``patch_size``, or ``None`` -> the paper's 8 x 8 grid (32 px at 256 px). The RKD
    angle term needs at least 3 patches per image; a size that leaves fewer is an error that says so."""
    size = int(patch_size) if patch_size is not None else max(1, image_size // 8)
    n = (image_size // size) ** 2 if image_size % size == 0 else 0
    if n < 3:
        raise ValueError(f"crd patch_size={size} gives {n} whole patches of a {image_size}x{image_size} image; the "
                         f"patch relations need at least 3: use a divisor of {image_size} up to {image_size // 2}, "
                         f"or null for the paper's 8 x 8 grid")
    return size


def online_teacher_spec(hp: Mapping[str, Any], teacher_spec: Mapping[str, Any]) -> dict[str, Any]:
    """The network CRD or DCD trains as its teacher: the suite's, or ``teacher_arch`` at the suite's width (a
    published checkpoint named by the suite is not used: the teacher is trained from scratch), with the
    dropout rate ``teacher_dropout`` (the public code's ``teacher_dropout_rate``, 0)."""
    spec = {k: v for k, v in teacher_spec.items() if k != "checkpoint"}
    if hp.get("teacher_arch") is not None:
        spec["arch"] = hp["teacher_arch"]
    return {**spec, "dropout": float(hp["teacher_dropout"])}


def online_student_spec(hp: Mapping[str, Any], student_spec: Mapping[str, Any]) -> dict[str, Any]:
    """The student of CRD, DCD or OMGD: the suite's network with the dropout rate ``student_dropout`` (the public
    code's ``student_dropout_rate``, 0; the U-Net's own default is pix2pix's 0.5)."""
    return {**student_spec, "dropout": float(hp["student_dropout"])}


def check_buildable(spec: Mapping[str, Any]) -> None:
    """A registered network whose spec names only its arguments (``KeyError``/``ValueError`` otherwise)."""
    arch = spec["arch"]
    valid = network_args(arch)  # an unknown name lists the valid ones
    unknown = sorted(set(spec) - {"arch", "checkpoint"} - set(valid))
    if unknown:
        raise ValueError(f"bad arguments for network {arch!r}: unexpected {', '.join(unknown)}; valid: "
                         f"{', '.join(sorted(valid))}")


#: OMGD's generator architectures (its channel distillation and deeper teacher are defined per architecture).
OMGD_ARCHITECTURES = {**{arch: "resnet" for arch in RESNETS}, **{arch: "unet" for arch in UNETS}}
SSIM_PADDINGS = ("zeros", "reflect")
DEEP_TEACHER_CHOICES = ("auto", "none")


def network_architecture(spec: Mapping[str, Any], role: str) -> str:
    """``resnet`` or ``unet``; any other network is an error naming the ones OMGD serves."""
    architecture = OMGD_ARCHITECTURES.get(str(spec.get("arch")))
    if architecture is None:
        raise ValueError(f"omgd cannot use a {role} {spec.get('arch')!r}: its channel distillation and deep teacher "
                         f"are defined for {', '.join(sorted(OMGD_ARCHITECTURES))}")
    return architecture


DEEP_TEACHERS = {"resnet": "mobile_resnet_deepest_generator", "unet": "unet_deepest_generator"}


def omgd_teacher_specs(hp: Mapping[str, Any], teacher_spec: Mapping[str, Any], student_spec: Mapping[str, Any],
                       paired: bool, architecture: str) -> list[dict[str, Any]]:
    """OMGD's wide teacher (the suite's, ``teacher_arch`` replacing its arch) and, for paired tasks, the deep one."""
    wide = {k: v for k, v in teacher_spec.items() if k != "checkpoint"}
    if hp["teacher_arch"] is not None:
        wide["arch"] = hp["teacher_arch"]
    if network_architecture(wide, "teacher") != architecture:
        raise ValueError(f"omgd's wide teacher {wide['arch']!r} and student {student_spec['arch']!r} are of "
                         f"different architectures: channel distillation pairs layers of one architecture; set "
                         f"teacher.arch or omgd.teacher_arch to the student's architecture")
    rate = float(hp["teacher_dropout"])
    wide["dropout"] = rate
    specs = [wide]
    if paired and hp["deep_teacher"] == "auto":
        depth = {k: student_spec[k] for k in ("n_blocks", "num_downs", "norm") if k in student_spec}
        ngf = hp["deep_teacher_ngf"] or student_spec.get("ngf", 64)
        specs.append({"arch": DEEP_TEACHERS[architecture], "ngf": int(ngf), "dropout": rate, **depth})
    return specs


# -- CAT's kernel alignment ------------------------------------------------------------------------------

def ka_groups(groups: int, batch: int) -> int:
    """The groups CAT's kernel alignment is computed over: ``ka_groups`` (its scripts' 4 GPUs), at most
    ``batch // 2`` so that every group holds >= 2 samples (KA of one sample is identically 1)."""
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"cat_ka ka_groups must be an integer >= 1 (CAT's 4 GPUs: 4), got {groups!r}")
    return max(1, min(groups, batch // 2))


