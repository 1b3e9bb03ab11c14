"""The report's notes: how each task's numbers were measured (FID protocol, other protocols) and what the
intervals and verdicts mean (test, threshold, number of comparisons, the resampling scheme and its limits)."""
from __future__ import annotations

from typing import Any

import pandas as pd

from kd_gan_bench.benchmarks.metrics import resampling

from . import statistics
from .published_rows import INCEPTION_EXTRACTOR
from .text import as_str, seed_str

#: The statistics notes every report carries (the resampling scheme and its limits, see kd_gan_bench.benchmarks.metrics.resampling).
STATISTICS_NOTES = [
    f"Seeds: each row pools its finished seeds: mean \u00b1 std, and a 95% Student-t interval "
    f"(scipy.stats.t) over seeds; rows with fewer than {statistics.MIN_SEEDS} finished seeds are marked. With 3 "
    f"seeds the t quantile is 4.30, so these intervals are wide.",
    f"Test set: every job scores its quality metric on the same {resampling.B} subsets of half the test split, "
    f"drawn without replacement with a fixed seed ({resampling.SCHEME}). This is the delete-n/2 jackknife "
    f"(Shao & Wu 1989): its variance estimate is simply the variance of the subset values (for a mean exactly "
    f"(1/m)(n-m)/(n-1) \u2248 1/n of the per-image variance), and unlike the bootstrap it never duplicates an "
    f"image (duplicates distort FID's covariance). A row's subset values are averaged over its seeds; its 95% "
    f"test-set interval is the full-test value \u00b1 1.96 x their std.",
    "Limits: FID is biased upward at small N (about 1/N), and the half-size subsets' FIDs more so; the interval "
    "is centred on the full-N value and uses only the subsets' spread around their mean, so it covers test-set "
    "sampling variance, not that bias. FID's real statistics are held fixed (the shared reference). The "
    "test-set interval says nothing about seed-to-seed variation, and the seed interval nothing about the test "
    "set: a difference is called beyond the noise only when every available test says so. The paired test-set "
    "verdict is about the trained models at hand (their seeds' subset values averaged): it says whether they "
    "differ beyond test-set sampling, not whether the method would across new seeds; the seed verdict says that.",
    f"Best: bold only when the best student is distinguishable from the runner-up by every available test "
    f"(Welch over seeds, paired over test subsets; alpha = {statistics.ALPHA}, uncorrected); otherwise it and "
    f"every row not distinguishable from it are marked \u2248 best, each only where some other row is "
    f"distinguishable from it (a column where nothing is separable has no mark). Params and MACs are counts: "
    f"compared exactly.",
]


def _extractor_desc(name: str) -> str:
    if name == INCEPTION_EXTRACTOR:
        return f"{name} features (Inception-v3, torch-fidelity compatible)"
    return f"{name} features (NOT Inception FID)" if name else "unknown extractor"


def fid_notes(task_df: pd.DataFrame) -> list[str]:
    """One line per distinct FID protocol used by the task's done jobs: features, weights' origin and
    sha256, real-statistics convention, N, and KID's subsets."""
    done = task_df[(task_df["status"] == "done") & task_df["fid"].notna()]
    notes = []
    seen = set()
    for r in done.itertuples():
        key = (as_str(r.fid_extractor), as_str(r.fid_protocol), seed_str(r.fid_n_fake), seed_str(r.fid_n_real),
               as_str(getattr(r, "fid_weights_origin", "")), as_str(getattr(r, "fid_weights_sha256", "")),
               seed_str(getattr(r, "kid_subset_size", None)), seed_str(getattr(r, "kid_subsets", None)))
        if key in seen:
            continue
        seen.add(key)
        ext, proto, nf, nr, origin, sha, kid_m, kid_k = key
        parts = [f"FID: {_extractor_desc(ext)}"]
        if origin:
            parts.append(f"weights: {origin}" + (f" (sha256 {sha[:12]})" if sha else ""))
        if proto:
            parts.append(proto)
        if nf or nr:
            parts.append(f"N={nf or '?'} generated vs {nr or '?'} real")
        if kid_m:
            parts.append(f"KID x1e3: mean \u00b1 std over {kid_k} subsets of {kid_m} (a single seed shows the subsets' "
                         f"std, several seeds the seeds' std)")
        notes.append(", ".join(parts))
    return notes


def protocol_notes(task_df: pd.DataFrame) -> list[str]:
    """Evaluation protocols of the task's done jobs that FID notes do not cover (mIoU, accuracy, MAE, the
    FID of cGAN-KD's fake set)."""
    done = task_df[(task_df["status"] == "done") & task_df["fid"].isna()]
    return list(dict.fromkeys(as_str(p) for p in done["eval_protocol"] if as_str(p)))


def comparison_notes(comparisons: list[dict[str, Any]]) -> list[str]:
    """What a task's significance table used: each test, its threshold and its number of comparisons."""
    if not comparisons:
        return []
    n_seeds = sum(1 for c in comparisons if c["seeds_p"] == c["seeds_p"])
    n_test = sum(1 for c in comparisons if c["test_p"] == c["test_p"])
    return [f"Seeds: {statistics.SEED_TEST}, {statistics.CORRECTION}, over {n_seeds} comparisons of this task.",
            f"Test set: {statistics.PAIRED_TEST}, {statistics.CORRECTION}, over {n_test} comparisons of this task; "
            f"the interval is the difference's 95% interval.",
            "Verdicts read row against reference: better, worse, or not distinguishable; \"not tested\" where a "
            "side lacks 2 seeds (Welch) or subset values (paired)."]
