"""The board's statistics end to end: result folders of synthetic records -> ``kd_gan_bench.benchmarks.run report`` ->
index.html, leaderboard.json and leaderboard.csv (the same numbers), and ``report --compare``."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kd_gan_bench.benchmarks.metrics import resampling
from kd_gan_bench.benchmarks.core.config import JobConfig
from kd_gan_bench.benchmarks.cli.main import main
from kd_gan_bench.benchmarks.core.store import ResultStore

TASK = "synthetic_edges2shapes"
TEACHER = {"arch": "resnet_generator", "ngf": 32, "n_blocks": 6}
STUDENT = {"arch": "mobile_resnet_generator", "ngf": 16, "n_blocks": 6}
N_IMAGES = 100
#: method -> (offset of its per-image score, seed-to-seed spread); FID-like, lower is better.
METHODS = {"scratch": (50.0, 0.3), "output_kd": (49.5, 0.3), "feature_kd": (49.5, 0.3), "crd": (40.0, 0.3)}


def _record(phase: str, method: str, seed: int, fid: float, resamples: list[float], n_images: int = N_IMAGES,
            student: dict | None = None) -> dict:
    """A done record whose config is a real job config (a record must belong to its job: its id is the config's);
    ``student``: the student network (default ``STUDENT``)."""
    config = JobConfig(phase=phase, family="i2i", task=TASK, task_args={}, teacher=TEACHER,
                       student=(student or STUDENT) if phase == "student" else None, method=method, hparams={}, recipe={},
                       schedule={}, evaluation={}, seed=seed, suite="synthetic")
    return {"job_id": config.job_id, "status": "done", "config": config.to_dict(),
            "metrics": {"fid": fid, "test_resamples": resampling.record({"fid": resamples}, n_images),
                        "macs_ratio": 4.0 if phase == "student" else 1.0, "params": 1.0}}


def write_store(root: Path, shift: dict[str, float] | None = None, seeds: int = 3, n_images: int = N_IMAGES) -> Path:
    """A teacher and four methods x ``seeds`` seeds scored on the same images: an image's difficulty is shared
    by every model (so paired comparisons cancel it), each seed adds its own offset."""
    rng = np.random.default_rng(0)
    difficulty = rng.normal(0, 12, n_images)
    store = ResultStore(root)
    scores = difficulty + 20.0 + rng.normal(0, 0.2, n_images)
    store.write_record(_record("teacher", "teacher", 0, float(scores.mean()),
                               resampling.subset_means(scores), n_images))
    for method, (offset, spread) in METHODS.items():
        for seed in range(seeds):
            scores = difficulty + offset + (shift or {}).get(method, 0.0) + rng.normal(0, spread) \
                + rng.normal(0, 0.2, n_images)
            store.write_record(_record("student", method, seed, float(scores.mean()),
                                       resampling.subset_means(scores), n_images))
    return root


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, pd.DataFrame, str]:
    results = write_store(tmp_path_factory.mktemp("board") / "results")
    assert main(["report", "--results", str(results)]) == 0
    out = results / "report"
    return results, json.loads((out / "leaderboard.json").read_text()), pd.read_csv(out / "leaderboard.csv"), \
        (out / "index.html").read_text()


def _rows(board_json: dict) -> dict[str, dict]:
    return {r["method"]: r for r in board_json["tasks"][0]["rows"]}


def test_paired_test_set_comparison_detects_what_seeds_cannot(board: tuple[Path, dict, pd.DataFrame, str]) -> None:
    """output_kd is 0.5 FID better than scratch on every image: seed noise (std 0.3, 3 seeds, Holm over the
    task's comparisons) hides it from Welch's test and image difficulty (std 12) makes the rows' own test-set
    intervals overlap; the paired comparison over the shared test subsets shows it."""
    _, data, _, html = board
    comps = {(c["method"], c["reference"]): c for c in data["tasks"][0]["comparisons"]}
    c = comps[("output_kd", "scratch")]
    assert c["seeds_verdict"] == "not distinguishable" and c["test_verdict"] == "better"
    assert c["test_high"] < 0  # FID difference interval entirely below zero
    rows = _rows(data)
    lo_a, hi_a = rows["output_kd"]["metrics"]["fid"]["ci95_test"]
    lo_b, hi_b = rows["scratch"]["metrics"]["fid"]["ci95_test"]
    assert lo_a < hi_b and lo_b < hi_a  # the unpaired intervals overlap
    crd = comps[("crd", "scratch")]
    assert crd["seeds_verdict"] == "better" and crd["test_verdict"] == "better"
    assert comps[("crd", "teacher")]["test_verdict"] == "worse"
    assert ("scratch", "scratch") not in comps and ("output_kd", "output_kd") not in comps
    n = len(data["tasks"][0]["comparisons"])
    assert f"over {n} comparisons of this task" in html and "Holm" in html and "alpha = 0.05" in html
    assert "half-sampling without replacement" in html and "biased upward at small N" in html


def test_best_is_bold_only_beyond_the_noise(board: tuple[Path, dict, pd.DataFrame, str],
                                            tmp_path: Path) -> None:
    _, data, _, html = board
    assert _rows(data)["crd"]["metrics"]["fid"]["mark"] == "best"
    crd_mean = _rows(data)["crd"]["metrics"]["fid"]["mean"]
    assert re.search(r'class="num best"[^>]*><b>' + re.escape(f"{crd_mean:.2f}"), html)
    # three methods from one distribution at the top and scratch well behind: none is bold, the three are
    # "tied with best" (scratch is distinguishable from them), scratch has no mark
    results = write_store(tmp_path / "tied", shift={"crd": 9.5, "scratch": 5.0})
    main(["report", "--results", str(results)])
    tied = _rows(json.loads((results / "report" / "leaderboard.json").read_text()))
    marks = {m: r["metrics"]["fid"]["mark"] for m, r in tied.items() if r["kind"] == "student"}
    assert marks == {"crd": "tied with best", "output_kd": "tied with best", "feature_kd": "tied with best",
                     "scratch": ""}
    page = (results / "report" / "index.html").read_text()
    leaderboard = page[page.index('class="leaderboard'):page.index("</table>")]
    assert "&asymp; best" in leaderboard and "<b>" not in leaderboard


def test_json_csv_and_html_show_the_same_numbers(board: tuple[Path, dict, pd.DataFrame, str]) -> None:
    _, data, csv, html = board
    table = html[html.index('class="leaderboard'):]
    table = table[:table.index("</table>")]
    html_rows = {re.search(r"<td>([^<]*)</td>", tr).group(1): tr for tr in table.split("<tr")[2:]}
    assert set(html_rows) == {"teacher", *METHODS}
    for method, row in _rows(data).items():
        fid = row["metrics"]["fid"]
        line = csv[csv["method"] == method].iloc[0]
        assert line["fid_mean"] == pytest.approx(fid["mean"]) and line["fid_n"] == fid["n"]
        assert [line["fid_ci95_test_low"], line["fid_ci95_test_high"]] == pytest.approx(fid["ci95_test"])
        assert f'data-sort="{fid["mean"]!r}"' in html_rows[method]
        assert f"[{fid['ci95_test'][0]:.2f}, {fid['ci95_test'][1]:.2f}]" in html_rows[method]
        if row["kind"] == "student":
            assert f"[{fid['ci95_seeds'][0]:.2f}, {fid['ci95_seeds'][1]:.2f}]" in html_rows[method]
            assert line["fid_ci95_seeds_low"] == pytest.approx(fid["ci95_seeds"][0])
            if method != "scratch":
                assert (line["vs_scratch_seeds"], line["vs_scratch_test"]) == tuple(row["vs"]["scratch"].values())
        assert (line["few_seeds"], row["few_seeds"]) == (method == "teacher", method == "teacher")
    assert "&lt;3 seeds" not in html_rows["crd"] and "&lt;3 seeds" not in html_rows["teacher"]  # one teacher a task
    assert data["statistics"]["test_resampling"] == resampling.SCHEME


def test_compare_two_result_folders(board: tuple[Path, dict, pd.DataFrame, str], tmp_path: Path,
                                    capsys: pytest.CaptureFixture) -> None:
    before, *_ = board
    after = write_store(tmp_path / "after", shift={"feature_kd": -6.0, "output_kd": 0.05})
    out = tmp_path / "cmp" / "compare.csv"
    assert main(["report", "--compare", str(before), str(after), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    table = pd.read_csv(out).set_index("method")
    assert table.loc["feature_kd", "delta"] == pytest.approx(-6.0, abs=0.5)  # same seeds' noise in both folders
    assert table.loc["feature_kd", "beyond_noise"] == "yes" and table.loc["crd", "beyond_noise"] == "no"
    assert table.loc["output_kd", "beyond_noise"] == "no"
    assert "feature_kd" in printed and "beyond_noise" in printed and "delta = B - A" in printed
    assert table["test_p"].notna().all()
    # a folder whose test split has another size: different subsets, so no paired test, only Welch over seeds
    other = write_store(tmp_path / "other", n_images=60)
    assert main(["report", "--compare", str(before), str(other), "--out", str(out)]) == 0
    assert pd.read_csv(out)["test_p"].isna().all()


def test_compare_bad_input_exits_2(board: tuple[Path, dict, pd.DataFrame, str], tmp_path: Path,
                                   capsys: pytest.CaptureFixture) -> None:
    results, *_ = board
    assert main(["report", "--compare", str(results), str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", "--compare", str(tmp_path / "empty"), str(results)]) == 2
    err = capsys.readouterr()
    assert "holds no job records" in err.err and err.out == ""
    assert main(["report", "--results", str(results), "--out", str(tmp_path / "x.csv")]) == 2


def test_rows_group_by_student_size_and_the_declared_headline_leads(tmp_path: Path) -> None:
    """Two student sizes, FID and colour mIoU recorded, colour mIoU declared the headline (registered after FID):
    the board ranks by the headline and lists each size's rows together, least compressed first."""
    from kd_gan_bench.benchmarks.records.collect import collect
    from kd_gan_bench.report.board import build_board

    store = ResultStore(tmp_path)
    sizes = {16.0: {**STUDENT, "ngf": 4}, 4.0: STUDENT}  # the more compressed size written first
    for ratio, student in sizes.items():
        for method, miou in (("scratch", 20.0 + ratio), ("crd", 30.0 + ratio)):
            for seed in range(2):
                record = _record("student", method, seed, 50.0, [50.0] * 4, 8, student=student)
                record["metrics"].update(macs_ratio=ratio, colour_miou=miou + seed, quality_metric="colour_miou")
                store.write_record(record)
    task = build_board(collect(store)[0]).tasks[0]
    assert task.primary == "colour_miou" and task.metrics.index("colour_miou") < task.metrics.index("fid")
    students = [(r["metrics"]["macs_ratio"]["mean"], r["method"]) for r in task.rows if r["kind"] == "student"]
    assert students == [(4.0, "crd"), (4.0, "scratch"), (16.0, "crd"), (16.0, "scratch")]
