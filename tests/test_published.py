"""The published numbers: shipped with the project, mapped onto our tasks and methods, and shown in the
leaderboard beside ours (marked reported, with source, in the figure, with the gap where a row matches)."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from kd_gan_bench.benchmarks.core.environment import REPO_ROOT
from kd_gan_bench.benchmarks.records.published import PUBLISHED_CSV, load_published
from kd_gan_bench.report import render_report
from kd_gan_bench.report.figures import quality_vs_compression_figure


def test_shipped_csv_is_the_reference_copy() -> None:
    assert PUBLISHED_CSV == REPO_ROOT / "results" / "published_results.csv"
    shared = REPO_ROOT.parent / "shared" / "reference" / "published_results.csv"
    if shared.is_file():  # the development checkout has the reference beside it: ours adds the checkpoint column
        ours = pd.read_csv(PUBLISHED_CSV)
        pd.testing.assert_frame_equal(ours.drop(columns="checkpoint"), pd.read_csv(shared))


def test_published_rows_carry_their_sources_checkpoint_policy(tmp_path: Path) -> None:
    df = load_published()
    policy = lambda task, method: df[(df["csv_task"] == task) & (df["method"] == method)]["checkpoint"].tolist()  # noqa: E731
    assert policy("horse2zebra", "OMGD") == ["best_test"]  # its public scripts: val = test, best_net_G
    assert policy("horse2zebra", "Fast GAN Compression") == ["best_test"]
    assert policy("horse2zebra", "CRD") == ["unknown"] and policy("cifar100", "cGAN-KD")[0] == "unknown"
    assert set(df["checkpoint"]) == {"best_test", "unknown"}
    old = tmp_path / "old.csv"  # a CSV without the column (the reference copy) reads as unknown
    pd.read_csv(PUBLISHED_CSV).drop(columns="checkpoint").to_csv(old, index=False)
    assert set(load_published(old)["checkpoint"]) == {"unknown"}


def test_rows_are_mapped_onto_our_tasks_and_methods() -> None:
    df = load_published()
    assert len(df) == 58 and {"source", "match_method", "match_network", "metric_key"} <= set(df.columns)
    assert set(df[df["csv_task"] == "summer2winter"]["task"]) == {"summer2winter_yosemite"}
    assert set(df[df["csv_task"] == "cifar100"]["task"]) == {"cifar100"}  # no such task here: name kept
    row = lambda method: df[(df["task"] == "horse2zebra") & (df["method"] == method)].iloc[0]  # noqa: E731
    assert (row("CRD")["match_method"], row("CRD")["match_network"]) == ("crd", "mobile_resnet ngf16 b9")
    assert (row("original CycleGAN")["match_method"], row("original CycleGAN")["match_network"]) == \
        ("teacher", "resnet ngf64 b9")
    assert row("GAN Compression (paper)")["match_method"] == ""  # a searched architecture: nothing of ours
    assert row("online teacher (OMGD/CRD/DCD papers)")["match_method"] == ""
    reko = df[(df["csv_task"] == "horse2zebra") & (df["method"] == "ReKo")].iloc[0]
    assert reko["metric_key"] == "" and reko["match_method"] == ""  # "FID delta vs teacher": shown, not compared
    assert df[df["task"] == "cityscapes"]["metric_key"].eq("miou").all()


def _jobs(tmp_path: Path) -> pd.DataFrame:
    common = dict(family="i2i", task="horse2zebra", teacher="resnet ngf64 b9", fid_extractor="inception-v3-compat",
                  fid_protocol="target_train_test (train+test split of domain B)", fid_n_fake=120, fid_n_real=1474,
                  status="done", error=None, seed=0, log_path=None, samples_png=None, inputs_png=None)
    return pd.DataFrame([
        dict(common, job_id="t", phase="teacher", method="teacher", student="resnet ngf64 b9",
             hparams="published checkpoint cyclegan/horse2zebra", fid=66.0, params=11.378, macs=56.8,
             macs_ratio=1.0, params_ratio=1.0, latency_ms=30.0),
        dict(common, job_id="c", phase="student", method="crd", student="mobile_resnet ngf16 b9", hparams="",
             fid=50.0, params=0.137, macs=1.408, macs_ratio=40.3, params_ratio=82.8, latency_ms=3.0),
        dict(common, job_id="o", phase="student", method="output_kd", student="resnet ngf16 b9", hparams="",
             fid=55.0, params=0.72, macs=3.6, macs_ratio=15.8, params_ratio=15.8, latency_ms=5.0),
    ])


def test_report_shows_reported_numbers_beside_ours(tmp_path: Path) -> None:
    html = render_report(_jobs(tmp_path), tmp_path / "out", reported=load_published()).read_text()
    sec = html[html.index('data-task="horse2zebra"'):html.index('id="reported-only"')]
    assert "Reported in the papers" in sec and "badge-reported" in sec
    assert "CRD abstract (arXiv 2212.11091)" in sec and "46.61" in sec and "DMAD README (SJLeo/DMAD)" in sec
    # gap = ours - reported: CRD 50.00 - 46.61 (worse, FID is lower-better); teacher 66.00 - 65.75
    assert re.search(r'<td class="num gap-worse">\+3\.39</td>', sec)
    assert re.search(r'<td class="num gap-worse">\+0\.25</td>', sec)
    assert "+3.39 vs 46.61 (CRD)" in sec and "vs reported" in sec  # and in our own leaderboard row
    # each reported row says which checkpoint its number is from; the notes say ours are the last ones
    assert re.search(r'OMGD<span class="badge-reported">.*?<td>best_test</td>', sec, re.S)
    assert re.search(r'CRD<span class="badge-reported">.*?<td>unknown</td>', sec, re.S)
    assert "every number of ours is from the last checkpoint" in html
    assert "Hollow black diamonds" in sec and sec.count('class="pareto-figure"') == 1
    # tasks not run here get their own reported-only section, with sources
    only = html[html.index('id="reported-only"'):html.index('<section id="jobs">')]
    for task in ("cifar100", "utkface", "edges2shoes-r", "cityscapes"):
        assert f">{task}<" in only
    assert "cGAN-KD Table 7" in only and "horse2zebra<" not in only
    assert "http://" not in html and "https://" not in html


def test_figure_with_reported_points() -> None:
    configs = pd.DataFrame({"method": ["crd"], "student": ["mobile"], "macs_ratio_mean": [40.0], "fid_mean": [50.0],
                            "fid_std": [float("nan")]})
    teacher = pd.DataFrame({"method": ["teacher"], "student": ["t"], "macs_ratio_mean": [1.0], "fid_mean": [66.0],
                            "fid_std": [float("nan")]})
    reported = pd.DataFrame({"x": [40.3, 1.0], "y": [46.61, 65.75], "label": ["CRD", "original CycleGAN"]})
    with_reported = quality_vs_compression_figure(configs, teacher, reported=reported)
    without = quality_vs_compression_figure(configs, teacher)
    assert with_reported[:8] == b"\x89PNG\r\n\x1a\n" and with_reported != without
    only = quality_vs_compression_figure(configs.iloc[:0], None, reported=reported)
    assert only is not None and only[:4] == b"\x89PNG"


def test_missing_csv_gives_an_empty_frame(tmp_path: Path) -> None:
    assert load_published(tmp_path / "none.csv").empty
    copy = tmp_path / "p.csv"
    shutil.copy(PUBLISHED_CSV, copy)
    assert len(load_published(copy)) == len(load_published())
    html = render_report(_jobs(tmp_path), tmp_path / "o2", reported=load_published(tmp_path / "none.csv")).read_text()
    assert "Reported in the papers" not in html and 'id="reported-only"' not in html


@pytest.mark.parametrize("change, why", [
    ({"fid_extractor": "offline-randconv-v1"}, "not comparable: our FID uses offline-randconv-v1 features, not Inception"),
    ({"fid_protocol": "target_test (test split of domain B)"},
     "not comparable: real statistics target_test vs the paper&#39;s target_train_test"),
    ({"fid_n_real": None}, "not comparable: N not recorded"),
])
def test_gap_only_where_fid_protocols_match(tmp_path: Path, change: dict, why: str) -> None:
    """A horse2zebra run with the offline extractor once showed "+21.50 vs 65.75" beside "Not Inception FID"."""
    jobs = _jobs(tmp_path).assign(**change)
    html = render_report(jobs, tmp_path / "out", reported=load_published()).read_text()
    sec = html[html.index('data-task="horse2zebra"'):html.index('id="reported-only"')]
    assert f"{why} vs 46.61 (CRD)" in sec  # our leaderboard row
    assert why in sec[sec.index("Reported in the papers"):]  # the reported table
    assert "+3.39" not in sec and "+0.25" not in sec
    assert load_published().set_index(["task", "method"]).loc[("horse2zebra", "CRD"), "fid_convention"] == \
        "target_train_test"
