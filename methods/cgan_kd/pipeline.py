"""The fake-set phase of cGAN-KD (Ding et al., arXiv 2104.03164): cGAN -> cDR-RS -> filter -> labels.

``build_fake_set`` runs, for one task (and one teacher when the teacher filters):

0. train the filtering network on the real training split (``filter_net``, by default the public
   code's DenseNet-121 / VGG-11, see ``filtering``), or take the pair's teacher (``filter_net="teacher"``);
1. train the family's conditional GAN on the training split (``cgan.train_cgan``);
2. fit the conditional density-ratio model on the filtering network's penultimate features (the
   public code trains a third network for them, a ResNet-34 on CIFAR-100 and a sparse autoencoder on
   UTKFace, also on the real data only; one network for both saves its training) and set up one
   rejection sampler per label with its burn-in (``subsampling``; ``subsample=False`` accepts every proposal);
3. draw ``filter_burn_in`` subsampled fakes per label (fewer, with a warning, if the proposal
   budget runs out first; none for a class is an error naming it), score them by the filtering
   network and fix the rho-quantile cut-off(s) (``filtering``; ``filter=False`` keeps everything);
4. per label, draw batches of proposals, keep those accepted by rejection sampling and strictly
   below the cut-off, until ``n_per_label`` are kept or ``max_proposals_factor`` x ``n_per_label``
   proposals were drawn (then it goes on with fewer, says so in the log and lists the short labels
   in the statistics). A class with no fake left is an error naming it. A regression label value
   with none left is only listed (with one cut-off for all labels, as the paper, the filtering network's worst
   labels, often the extremes of the range, can lose every fake, and the neighbouring values still
   cover them); an empty set is an error;
5. optionally replace the labels by the filtering network's predictions.

Labels are the classes, or for regression the distinct normalised training labels (or, when there
are more than ``max_label_points``, that many evenly spaced values over their range), as cGAN-KD
generates at the training labels. The statistics record how many samples survive each stage and,
with an ``fid_fn(fake_uint8, real_uint8) -> dict`` supplied by the harness (methods never import
it), the FID of raw cGAN samples and of the final set against the real training images.

Stages 0-2 checkpoint through the job's checkpointer (each under its own key) and keep their
final state, so a preempted job resumes without retraining them; stages 3-5 are deterministic given
the seed and are simply rerun.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

import torch
from torch import nn

from kd_gan_bench.methods.cgan_kd.cgan import ConditionalGenerator, build_cgan, generate, label_embedding, train_cgan
from kd_gan_bench.methods.cgan_kd.fake_set import FakeSet
from kd_gan_bench.methods.cgan_kd.filtering import (filter_net_schedule, filter_net_spec, keep_below,
                                       quantile_cutoff, replace_labels, resolve_rho, teacher_labels, teacher_losses)
from kd_gan_bench.methods.cgan_kd.settings import FAKESET_DEFAULTS
from kd_gan_bench.methods.cgan_kd.subsampling import DensityRatioModel, RejectionSampler, train_density_ratio
from kd_gan_bench.methods.core.labelled_training import evaluate_labelled, frozen, predict, to_targets, train_classifier
from kd_gan_bench.methods.core.training import Checkpointer

if TYPE_CHECKING:
    from kd_gan_bench.datasets.labelled import LabelledImageData


FidFn = Callable[[torch.Tensor, torch.Tensor], dict]


def resolve_fake_hparams(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Fake-set hyperparameters: defaults overridden by ``overrides``; an unknown key names the valid ones."""
    unknown = set(overrides) - set(FAKESET_DEFAULTS)
    if unknown:
        raise ValueError(f"cGAN-KD fake set has no hyperparameter(s) {sorted(unknown)}; "
                         f"valid: {sorted(FAKESET_DEFAULTS)}")
    hp = {**FAKESET_DEFAULTS, **overrides}
    for key in ("n_per_label", "max_label_points", "max_proposals_factor", "gan_steps", "dre_epochs", "rs_batch_size"):
        if int(hp[key]) < 1:
            raise ValueError(f"{key} must be >= 1, got {hp[key]}")
    if hp["dre_steps"] is not None and int(hp["dre_steps"]) < 1:
        raise ValueError(f"dre_steps must be >= 1 or None (dre_epochs passes over the real data), "
                         f"got {hp['dre_steps']}")
    filter_net_spec(hp, "classification")  # checks the filter_net value
    return hp


class StageCheckpointer:
    """One job checkpointer shared by consecutive stages, each stage's state under its own key."""

    def __init__(self, parent: Checkpointer, stage: str) -> None:
        self.parent, self.stage = parent, stage

    def load(self) -> dict | None:
        saved = self.parent.load()
        return saved.get("stages", {}).get(self.stage) if isinstance(saved, dict) else None

    def save(self, state: dict) -> None:
        saved = self.parent.load()
        stages = dict(saved.get("stages", {})) if isinstance(saved, dict) else {}
        stages[self.stage] = state
        self.parent.save({"stages": stages})

    def requested(self) -> bool:
        return self.parent.requested()


def _stage(parent: Checkpointer | None, name: str) -> Checkpointer | None:
    return None if parent is None else StageCheckpointer(parent, name)


def label_points(data: LabelledImageData, targets: torch.Tensor, max_points: int) -> torch.Tensor:
    """The labels to generate at: every class, or the distinct normalised training labels (evenly spaced
    values over their range when there are more than ``max_points``)."""
    if data.family == "classification":
        return torch.arange(int(data.num_classes))
    unique = torch.unique(targets)
    if len(unique) <= max_points:
        return unique.float()
    return torch.linspace(float(unique.min()), float(unique.max()), max_points)


def describe_label(data: LabelledImageData, point: torch.Tensor) -> str:
    if data.family == "classification":
        return f"class {int(point)}"
    return f"label {float(data.denormalise(point)):.4g} {data.label_unit}".rstrip()


def generator_from(fake_set: FakeSet) -> ConditionalGenerator:
    """The cGAN generator saved with a fake set, rebuilt (eval mode, CPU) to draw more samples."""
    if fake_set.generator_config is None or fake_set.generator_state is None:
        raise ValueError("this fake set was saved without its generator")
    cfg = fake_set.generator_config
    net_g, _ = build_cgan(cfg["family"], cfg["num_classes"], cfg["size"], cfg)
    net_g.load_state_dict(fake_set.generator_state, strict=True)
    return net_g.eval()


def _fit_density_ratio(data: LabelledImageData, targets: torch.Tensor, net_g: ConditionalGenerator,
                       feature_net: nn.Module, hp: Mapping[str, Any], device: torch.device, seed: int,
                       checkpointer: Checkpointer | None, log: Callable[[str], None]) -> tuple[DensityRatioModel, dict]:
    real_features = predict(feature_net, data.train_x, device, features=True)
    dim = hp["dre_dim_embed"]
    torch.manual_seed(seed)
    model = DensityRatioModel(real_features.shape[1], label_embedding(data.family, data.num_classes, dim), dim,
                              hp["dre_hidden"], hp["dre_dropout"])

    def fake_features(labels: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return predict(feature_net, generate(net_g, labels, device, gen), device, features=True)

    history = train_density_ratio(model, real_features, targets, fake_features, hp, device, seed,
                                  log_every=hp["log_every"], checkpoint_every=hp["checkpoint_every"],
                                  checkpointer=checkpointer, log=log)
    return model, history


def fake_set_network(hparams: Mapping[str, Any], family: str) -> dict[str, Any] | None:
    """The network spec that filters a fake set made with ``hparams``, or None when the pair's teacher does
    (the fake set then depends on the teacher)."""
    return filter_net_spec(resolve_fake_hparams(hparams), family)


def filter_network(data: LabelledImageData, teacher: nn.Module | None, hp: Mapping[str, Any], device: torch.device,
                   seed: int, checkpointer: Checkpointer | None, log: Callable[[str], None]) -> tuple[nn.Module, dict]:
    """The network that filters and gives cDR-RS its features: ``teacher``, or ``filter_net`` trained on the
    real training split (stage 0), with its test-split quality."""
    spec = filter_net_spec(hp, data.family)
    if spec is None:
        if teacher is None:
            raise ValueError("filter_net='teacher' needs the pair's teacher: pass it to build_fake_set")
        return teacher, {"filter_net": "teacher"}
    schedule = filter_net_schedule(hp, data.family, len(data.train_x))
    log(f"cGAN-KD fake set: training the filtering network {spec} on the real data ({schedule.steps} steps)")
    net = train_classifier(data, spec, schedule, device, seed, checkpointer=checkpointer, log=log).model
    return net, {"filter_net": spec, "filter_net_steps": schedule.steps, **evaluate_labelled(net, data, device)}


def build_fake_set(data: LabelledImageData, teacher: nn.Module | None, hparams: Mapping[str, Any],
                   device: torch.device, seed: int, *, fid_fn: FidFn | None = None,
                   checkpointer: Checkpointer | None = None, log: Callable[[str], None] = print) -> FakeSet:
    """Make the processed fake set of one task (module docstring); ``teacher``, a network of
    ``kd_gan_bench.methods.networks.classifiers`` trained on ``data``'s training split, is needed only when it filters."""
    hp = resolve_fake_hparams(hparams)
    family, device = data.family, torch.device(device)
    targets = to_targets(data.train_y, data)
    judge, judge_info = filter_network(data, teacher, hp, device, seed + 3, _stage(checkpointer, "filter_net"), log)
    judge = frozen(judge, device)

    log(f"cGAN-KD fake set for {data.name}: training the "
        f"{'class-conditional GAN' if family == 'classification' else 'CcGAN'}")
    cgan = train_cgan(data.train_x, targets, family, data.num_classes, hp, device, seed, log_every=hp["log_every"],
                      checkpoint_every=hp["checkpoint_every"], checkpointer=_stage(checkpointer, "cgan"), log=log)
    net_g = cgan.generator
    history: dict[str, Any] = {"cgan": cgan.history}
    ratio = _density_ratio(data, targets, net_g, judge, hp, device, seed, checkpointer, log, history)

    gen = torch.Generator().manual_seed(seed + 2)
    batch, n_target = hp["rs_batch_size"], hp["n_per_label"]
    cap = hp["max_proposals_factor"] * n_target
    points = label_points(data, targets, hp["max_label_points"])

    samplers = _samplers(net_g, ratio, points, hp, device, gen)
    rho = resolve_rho(hp, family)
    # filtering losses: CE, or |error| in label units (the quantile commutes with the scale; units for the record)
    loss_scale = 1.0 if family == "classification" else data.label_range[1] - data.label_range[0]

    def losses(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outputs = predict(judge, x, device)
        return teacher_losses(outputs, y, family) * loss_scale, teacher_labels(outputs, family)

    cutoffs = _cutoffs(data, samplers, points, losses, hp, rho, cap, log)
    n_filter_burn_in = sum(s.n_proposed for s in samplers)
    draws = [_fill_label(s, losses, cutoff, n_target, cap, batch) for s, cutoff in zip(samplers, cutoffs)]
    short = _check_draws(data, points, draws, n_target, log)
    images_t = torch.cat([d.images for d in draws])
    final_labels, n_replaced = _final_labels(data, draws, hp["replace_labels"])

    stats: dict[str, Any] = {
        "n_label_points": len(points),
        "n_per_label": n_target,
        "n_burn_in": sum(s.n_burn_in for s in samplers) + n_filter_burn_in,
        "n_generated": sum(s.n_proposed for s in samplers) - n_filter_burn_in,
        "n_after_subsampling": sum(d.accepted for d in draws),
        "n_after_filtering": sum(d.kept for d in draws),
        "n_final": len(images_t),
        "n_labels_replaced": n_replaced,
        "n_short_labels": len(short),
        "short_labels": short,
        "filter_rho": rho if hp["filter"] else None,
        "filter_cutoffs": cutoffs if hp["filter"] else None,
        **_fids(fid_fn, hp, net_g, targets, images_t, data, device, gen),
        **judge_info,
    }
    log("fake set: " + ", ".join(f"{k} {stats[k]}" for k in ("n_generated", "n_after_subsampling", "n_after_filtering",
                                                             "n_final", "n_labels_replaced")))
    config = {"family": family, "num_classes": data.num_classes, "size": data.size,
              **{k: hp[k] for k in ("gan_ch", "gan_dim_z", "gan_dim_embed")}}
    state = {k: v.detach().cpu() for k, v in net_g.state_dict().items()}
    return FakeSet(family, images_t, final_labels.to(torch.int64 if family == "classification" else torch.float32),
                   stats, history, config, state)


def _samplers(net_g: nn.Module, ratio: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
              points: list[torch.Tensor], hp: Mapping[str, Any], device: torch.device,
              gen: torch.Generator) -> list[RejectionSampler]:
    """One rejection sampler of cGAN proposals per label point, burnt in when subsampling."""
    def sampler_at(point: torch.Tensor) -> RejectionSampler:
        def propose(n: int) -> tuple[torch.Tensor, torch.Tensor]:
            labels = point.repeat(n)
            return generate(net_g, labels, device, gen), labels
        return RejectionSampler(propose, ratio, gen)

    samplers = [sampler_at(p) for p in points]
    if hp["subsample"]:
        for s in samplers:
            s.burn_in(hp["rs_burn_in"], hp["rs_batch_size"])
    return samplers


def _final_labels(data: LabelledImageData, draws: list["LabelDraw"], replace: bool) -> tuple[torch.Tensor, int]:
    """The kept fakes' labels (the filtering network's where ``replace``), as the task's labels: class ids, or
    values in label units within the label range; and how many were replaced."""
    labels = torch.cat([d.labels for d in draws])
    n_replaced = 0
    if replace:
        labels, changed = replace_labels(labels, torch.cat([d.predicted for d in draws]))
        n_replaced = int(changed.sum())
    if data.family == "classification":
        return labels.long(), n_replaced
    return data.denormalise(labels).clamp(*data.label_range), n_replaced


def _density_ratio(data: LabelledImageData, targets: torch.Tensor, net_g: nn.Module, judge: nn.Module,
                   hp: Mapping[str, Any], device: torch.device, seed: int, checkpointer: Checkpointer | None,
                   log: Callable[[str], None], history: dict[str, Any]) -> Callable[[torch.Tensor, torch.Tensor],
                                                                                    torch.Tensor]:
    """cDR-RS's density ratio of a fake (fitted here, its history into ``history["dre"]``), or a constant 1
    without subsampling."""
    if not hp["subsample"]:
        return lambda x, y: torch.ones(len(x))
    log("cGAN-KD fake set: fitting the conditional density-ratio model (cDR-RS)")
    dre, history["dre"] = _fit_density_ratio(data, targets, net_g, judge, hp, device, seed + 1,
                                             _stage(checkpointer, "dre"), log)

    @torch.no_grad()
    def ratio(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return dre(predict(judge, x, device, features=True).to(device), y.to(device)).cpu()
    return ratio


def _cutoffs(data: LabelledImageData, samplers: list[RejectionSampler], points: list[torch.Tensor],
             losses: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]], hp: Mapping[str, Any],
             rho: float, cap: int, log: Callable[[str], None]) -> list[float]:
    """The filtering cut-off of each label point: the ``rho``-quantile of the filtering network's loss on a
    burn-in of subsampled fakes (per class; one over all labels for regression); infinite without filtering."""
    if not hp["filter"]:
        return [float("inf")] * len(points)
    family, batch = data.family, hp["rs_batch_size"]
    burn_in = [losses(*s.sample(hp["filter_burn_in"], batch, cap))[0] for s in samplers]
    for point, b in zip(points, burn_in):
        if len(b) == 0 and family == "classification":
            raise ValueError(f"rejection sampling accepted no fake of {describe_label(data, point)} in {cap} "
                             f"proposals, so no filtering cut-off can be set: the cGAN's samples of this class "
                             f"are far from the real ones (train the cGAN longer, raise max_proposals_factor, "
                             f"or turn subsampling off)")
        if len(b) < hp["filter_burn_in"]:
            log(f"warning: the filtering burn-in of {describe_label(data, point)} has only {len(b)} of "
                f"{hp['filter_burn_in']} subsampled fakes ({cap} proposals, the budget)")
    cutoffs = ([quantile_cutoff(b, rho) for b in burn_in] if family == "classification"
               else [quantile_cutoff(torch.cat(burn_in), rho)] * len(points))
    log(f"filtering cut-off(s) at the {rho:g}-quantile of the filtering network's loss: "
        f"{', '.join(f'{c:.4g}' for c in sorted(set(cutoffs)))}")
    return cutoffs


def _check_draws(data: LabelledImageData, points: list[torch.Tensor], draws: list["LabelDraw"], n_target: int,
                 log: Callable[[str], None]) -> list[str]:
    """The labels that got fewer fakes than asked (logged); an error when a class, or every label, got none."""
    short = []
    for point, d in zip(points, draws):
        if d.kept == 0 and data.family == "classification":
            raise ValueError(f"no fake sample of {describe_label(data, point)} survived subsampling and filtering "
                             f"({d.proposals} proposals): the filtering network's losses on this class may all be "
                             f"equal, or the ratio model rejects it; raise max_proposals_factor or filter_rho, or "
                             f"train the teacher / cGAN longer")
        if d.kept < n_target:
            short.append(describe_label(data, point))
            log(f"warning: only {d.kept} of {n_target} fakes of {describe_label(data, point)} kept after "
                f"{d.proposals} proposals (the budget, max_proposals_factor x n_per_label)")
    if sum(d.kept for d in draws) == 0:
        raise ValueError(f"no fake sample survived subsampling and filtering at any of the {len(points)} labels of "
                         f"{data.name}: raise max_proposals_factor or filter_rho, or train the teacher / cGAN longer")
    return short


def _fids(fid_fn: FidFn | None, hp: Mapping[str, Any], net_g: nn.Module, targets: torch.Tensor,
          images: torch.Tensor, data: LabelledImageData, device: torch.device,
          gen: torch.Generator) -> dict[str, Any]:
    """FID of raw cGAN samples (``fid_samples`` of them, at labels drawn from the training set) and of the final
    set, against the real training images; None where not computed."""
    fids: dict[str, Any] = {"fid_raw": None, "fid_final": None}
    if fid_fn is not None and hp["fid_samples"] > 1:
        idx = torch.randint(0, len(targets), (hp["fid_samples"],), generator=gen)
        fids["fid_raw"] = fid_fn(generate(net_g, targets[idx], device, gen), data.train_x)
        if len(images) > 1:
            fids["fid_final"] = fid_fn(images, data.train_x)
    return fids


@dataclass
class LabelDraw:
    """The fakes kept at one label (at most ``n_per_label``) and the counts of how they were found."""

    images: torch.Tensor
    labels: torch.Tensor
    predicted: torch.Tensor
    proposals: int
    accepted: int
    kept: int


LossFn = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def _fill_label(sampler: RejectionSampler, losses: LossFn, cutoff: float, n_target: int, cap: int,
                batch: int) -> LabelDraw:
    """Draw proposals at one label until ``n_target`` are accepted by rejection sampling and strictly below
    the filtering cut-off, or ``cap`` proposals were drawn; the last batch's overshoot is dropped
    (counted as kept, as the public code counts it before truncating)."""
    images, labels, predicted = [], [], []
    start, accepted, kept = sampler.n_proposed, 0, 0
    while kept < n_target and sampler.n_proposed - start < cap:
        x, y, accept = sampler.draw(batch)
        x, y = x[accept], y[accept]
        accepted += len(x)
        if len(x) == 0:
            continue
        loss, teacher_label = losses(x, y)
        keep = keep_below(loss, cutoff)
        kept += int(keep.sum())
        images.append(x[keep])
        labels.append(y[keep])
        predicted.append(teacher_label[keep])
    if not images:  # (the loop ran at least once: n_target and cap are >= 1)
        return LabelDraw(x[:0], y[:0], y[:0], sampler.n_proposed - start, accepted, kept)
    return LabelDraw(torch.cat(images)[:n_target], torch.cat(labels)[:n_target], torch.cat(predicted)[:n_target],
                     sampler.n_proposed - start, accepted, kept)
