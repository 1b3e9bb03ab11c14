"""The papers' reported numbers (``results/published_results.csv``), prepared for the report.

Each row keeps its source and gains the columns the leaderboard needs:

* ``task``: the harness task it belongs to (the task whose ``TaskInfo.reported_as`` is the CSV's
  task; e.g. our ``summer2winter_yosemite`` is the papers' ``summer2winter``); tasks the harness
  does not have keep the CSV's name and ``csv_task`` always holds it;
* ``metric_key``: our metric column for the CSV's metric, the metric spec that names it in its ``reported_as`` (FID ->
  ``fid``, mIoU -> ``miou``, top1 -> ``accuracy``, MAE -> ``mae``); other metrics (``FID delta vs teacher``) are
  shown, never compared;
* ``family``: our family, the one that names the CSV's in its ``reported_as`` (``cls`` -> ``classification``);
* ``match_method``, ``match_network``: the configuration of ours the row reports on, or "";
* ``checkpoint`` (a column of the CSV, ours: the reference copy has none): which weights the source's number is
  from, where the source says it. ``best_test``: the best checkpoint chosen on the test set (the public GAN
  Compression and OMGD scripts point their validation loader at the test images and keep ``best_net_G``);
  ``unknown`` otherwise (a paper or README that does not say). Our rows are the last checkpoint unless their
  record says ``best_val`` (``kd_gan_bench.methods.core.training``);
* ``fid_convention``: for FID rows of a task we have, the real-statistics convention the papers use,
  taken to be the task's own (``TaskInfo.fid_protocol``: CycleGAN tasks ``target_train_test``, the
  real statistics GAN Compression publishes and the later papers reuse; pix2pix tasks
  ``target_test``); "" otherwise. The report computes a gap only where ours matches it (and uses
  Inception features and states N), else it says "not comparable" and why.

Matching rule (for the gap ours - reported): a reported row matches our configurations with the
same task, the same role (teacher/student = our phase), a method of ours that implements the
reported one (``REPORTED_METHODS``: our name -> the names papers use; our teacher matches the
original CycleGAN/pix2pix teacher), the same generator architecture when the row names an exact one
(``GENERATORS``; rows with a vague generator such as "resnet" or "searched resnet" match nothing),
and a metric we compute. Our mean over finished seeds is compared; nothing else is inferred.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from kd_gan_bench.benchmarks.core.environment import REPO_ROOT
from kd_gan_bench.benchmarks.families.families import FAMILIES
from kd_gan_bench.benchmarks.metrics import METRICS
from kd_gan_bench.datasets import TASKS
from kd_gan_bench.methods import METHODS

PUBLISHED_CSV = REPO_ROOT / "results" / "published_results.csv"
#: our method -> the method names under which papers report it, in the families our method serves (its registry
#: entry's ``families``; our teacher, in every family)
REPORTED_METHODS: dict[str, tuple[str, ...]] = {
    "teacher": ("original CycleGAN", "original pix2pix"),
    "scratch": ("NOKD",),
    "crd": ("CRD",),
    "reko": ("ReKo",),
    "srpkd": ("SRPKD",),
    "omgd": ("OMGD",),
    "dcd": ("DCD",),
    "nokd": ("NOKD",),
    "cgan_kd": ("cGAN-KD",),
}
#: the CSV's exact network names -> our network labels (``describe_network``)
GENERATORS = {"resnet_9blocks ngf64": "resnet ngf64 b9", "mobile resnet ngf16": "mobile_resnet ngf16 b9",
              "unet_256 ngf64": "unet ngf64 d8",
              # cGAN-KD's CIFAR students (RepDistiller's networks, kd_gan_bench.methods.networks.classifiers presets)
              "ResNet20": "resnet20", "ResNet8x4": "resnet8x4", "VGG8": "vgg8", "WRN40x1": "wrn_40_1",
              "WRN16x2": "wrn_16_2", "MobileNetV2": "mobilenetv2"}


def metric_keys() -> dict[str, str]:
    """The CSV's metric names -> our metric columns, from the metric specs' ``reported_as``."""
    return {reported: spec.name for spec in METRICS.in_order() for reported in spec.reported_as}


def family_names() -> dict[str, str]:
    """The CSV's family names -> ours, from the families' ``reported_as``."""
    return {family.reported_as or name: name for name, family in FAMILIES.items()}


def _match_method(family: str, role: str, method: str) -> str:
    """Our method a reported row's ``method`` of our ``family`` is (see :data:`REPORTED_METHODS`), or ""."""
    for ours, names in REPORTED_METHODS.items():
        serves = ours == "teacher" or (ours in METHODS and family in METHODS.info(ours).families)
        if method in names and serves and (ours == "teacher") == (role == "teacher"):
            return ours
    return ""


def load_published(path: str | Path = PUBLISHED_CSV) -> pd.DataFrame:
    """The published rows with the matching columns above (empty frame when the file is absent)."""
    path = Path(path)
    if not path.is_file():
        return pd.DataFrame()
    df = pd.read_csv(path)
    ours = {info.reported_as: name for name, info in TASKS.items() if info.reported_as}
    df["csv_task"] = df["task"]
    df["task"] = df["task"].map(lambda t: ours.get(t, t))
    df["metric_key"] = df["metric"].map(metric_keys()).fillna("")
    families = family_names()
    df["family"] = df["family"].map(lambda f: families.get(f, f))
    df["match_method"] = [_match_method(f, r, m) for f, r, m in zip(df["family"], df["role"], df["method"], strict=True)]
    df["match_network"] = df["generator"].map(GENERATORS).fillna("")
    df.loc[df["match_network"] == "", "match_method"] = ""
    df["fid_convention"] = [TASKS.get(t).fid_protocol if k == "fid" and t in TASKS else ""
                            for t, k in zip(df["task"], df["metric_key"], strict=True)]
    for col in ("params_M", "macs_G", "value"):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    if "checkpoint" not in df.columns:
        df["checkpoint"] = "unknown"
    return df.fillna({"note": "", "generator": "", "source": "", "checkpoint": "unknown"})
