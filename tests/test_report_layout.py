"""The board reads at a glance (issue 19): a summary per task from the board's own tests, tables that fit a
1,400-px window, no text over other text (in the page, in Chromium, and in the training-curve figure), no
``=None`` hyperparameter, "≈ best" only where something is separable. The boards come from generated records of
the default suites' jobs (tests/board_records.py), through ``kd_gan_bench.benchmarks.run report``."""
from __future__ import annotations

import json
import re
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from kd_gan_bench.benchmarks.metrics import METRICS
from kd_gan_bench.benchmarks.cli.main import main
from kd_gan_bench.report.board import BEST, TIED, build_board
from kd_gan_bench.report.findings import task_findings
from kd_gan_bench.report.curves import loss_curves

try:
    from tests.board_records import write_default_store
    from tests.browser import WIDTH, browser_skip_reason, chromium_page
    from tests.test_report import make_jobs
except ImportError:  # pytest's rootdir-relative import mode
    from board_records import write_default_store
    from browser import WIDTH, browser_skip_reason, chromium_page
    from test_report import make_jobs

#: Visible text boxes (one per line of a text node) in page coordinates, and the pairs that overlap by more than
#: a pixel each way.
OVERLAPS_JS = """() => {
  const boxes = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || el.closest("script, style") || !el.checkVisibility({visibilityProperty: true})) {
      continue;
    }
    const range = document.createRange();
    range.selectNodeContents(n);
    for (const r of range.getClientRects()) {
      if (r.width > 0 && r.height > 0) {
        boxes.push({l: r.left + scrollX, t: r.top + scrollY, r: r.right + scrollX, b: r.bottom + scrollY, n: n,
                    text: n.textContent.trim().slice(0, 50)});
      }
    }
  }
  const found = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (a.n === b.n) { continue; }
      if (Math.min(a.r, b.r) - Math.max(a.l, b.l) > 1 && Math.min(a.b, b.b) - Math.max(a.t, b.t) > 1) {
        found.push([a.text, b.text]);
      }
    }
  }
  return {boxes: boxes.length, overlaps: found.slice(0, 10)};
}"""

#: Visible elements whose right edge passes the window, outside the scroll containers the page made on purpose
#: (a table's ``.table-wrap`` scrolls sideways when every folded column and detail is open).
OVERFLOW_JS = """(scrolled) => {
  const out = [];
  for (const e of document.querySelectorAll("body *")) {
    if (!e.checkVisibility({visibilityProperty: true})) { continue; }
    if (scrolled && e.parentElement.closest(".table-wrap")) { continue; }
    const r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > window.innerWidth) { out.push(e.tagName + "." + e.className + " " + r.right); }
  }
  return out.slice(0, 10);
}"""


@pytest.fixture(scope="module")
def boards(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The index.html of a board whose methods differ ("separable", with training curves) and of one where none
    does ("flat", without)."""
    root = tmp_path_factory.mktemp("boards")
    pages = {}
    for name in ("separable", "flat"):
        results = write_default_store(root / name, separable=name == "separable", history=name == "separable")
        assert main(["report", "--results", str(results)]) == 0
        pages[name] = results / "report" / "index.html"
    return pages


def _sections(html: str) -> dict[str, str]:
    parts = re.split(r'(?=<section class="task")', html)[1:]
    return {re.search(r'data-task="([^"]+)"', p).group(1): p for p in parts}


def _findings(section: str) -> dict[str, str]:
    return dict(re.findall(r'<li class="finding finding-(\w+)">(.*?)</li>', section, flags=re.S))


def test_each_task_opens_with_its_summary(boards: dict[str, Path]) -> None:
    """The summary is the first thing under a task's title, before its table, and says what the tests found."""
    sections = _sections(boards["separable"].read_text())
    assert set(sections) == {"synthetic_edges2shapes", "synthetic_shapes10"}
    for section in sections.values():
        assert section.index('class="findings"') < section.index('class="leaderboard')
    i2i = _findings(sections["synthetic_edges2shapes"])
    assert set(i2i) >= {"front", "better", "worse", "indistinguishable"}
    assert i2i["front"].startswith("Pareto front of FID against MACs compression") and "feature_kd" in i2i["front"]
    # several student sizes: a row is named by its method and its student network
    assert "feature_kd resnet ngf8 b3 (than scratch and output_kd)" in i2i["better"] and "crd resnet" in i2i["better"]
    assert "omgd resnet ngf8 b3 (than scratch and output_kd)" in i2i["worse"]
    assert "srpkd" in i2i["indistinguishable"] and "feature_kd" not in i2i["indistinguishable"]
    board = json.loads((boards["separable"].parent / "leaderboard.json").read_text())
    assert [t["summary"][1] for t in board["tasks"] if t["task"] == "synthetic_edges2shapes"] == [i2i["better"]]
    labelled = _findings(sections["synthetic_shapes10"])
    assert "cgan_kd cifar_resnet d8 w8-8-16-32 (than nokd and vanilla_kd)" in labelled["better"]
    flat = _findings(_sections(boards["flat"].read_text())["synthetic_edges2shapes"])
    assert flat["better"] == ("No student is better than scratch and output_kd by both tests (Welch over seeds and "
                              "the paired test-set test, Holm-corrected).")
    assert flat["worse"] == "No student is worse than a baseline by both tests."


def test_summary_says_what_was_not_tested(tmp_path: Path) -> None:
    """One seed without test-subset values: no comparison is tested, and the summary says so; a baseline with no
    finished row (scratch: every seed failed) is not named."""
    jobs = make_jobs(tmp_path)
    board = build_board(jobs[jobs["seed"] == 0].assign(test_resamples=None))
    found = {f["key"]: f["text"] for f in task_findings(board.tasks[1])}
    assert found["better"].startswith("No student is better than output_kd by both tests")
    assert found["indistinguishable"].endswith("mobile_resnet ngf8 b6: not tested, too few seeds or subset values).")
    assert "scratch" not in " ".join(found.values())


def test_hyperparameters_never_read_none(boards: dict[str, Path]) -> None:
    """The default suites set some cGAN-KD settings to null (the schedule's, the suite's fake set): they read
    "auto", and only settings that differ from the method's defaults are shown."""
    html = boards["separable"].read_text()
    assert "=None" not in html and "None" not in re.sub(r"<script.*?</script>", "", html, flags=re.S)
    labelled = _sections(html)["synthetic_shapes10"]
    assert '<span class="hp">batch_size=auto</span><span class="hp">epochs_over=real</span>' in labelled
    assert "kd_T=" not in labelled and "reg_loss=" not in labelled  # defaults are not shown


def _leaderboards(html: str) -> list[str]:
    return re.findall(r'<table class="leaderboard.*?</table>', html, flags=re.S)


def _marks(page: Path) -> dict[str, list[tuple[str, str, str]]]:
    """Per task, the (method, metric, mark) of every marked student cell of ``leaderboard.json``."""
    board = json.loads((page.parent / "leaderboard.json").read_text())
    return {t["task"]: [(r["method"], m, d["mark"]) for r in t["rows"] if r["kind"] == "student"
                        for m, d in r["metrics"].items() if d["mark"]] for t in board["tasks"]}


def test_near_best_only_where_something_is_separable(boards: dict[str, Path]) -> None:
    """Where no row is distinguishable from another (every student drew the same numbers), no quality, fidelity or
    latency cell is marked, and the page shows exactly the board's marks; where FID separates methods, the best is
    bold and the rows beyond its noise are not marked."""
    html = boards["flat"].read_text()
    for task, marks in _marks(boards["flat"]).items():
        assert [m for m in marks if METRICS.get(m[1]).kind != "cost" or m[1] == "latency_ms"] == [], task
        section = _sections(html)[task]
        assert section.count('class="tied-mark"') == sum(mark == TIED for _, _, mark in marks)
    marks = _marks(boards["separable"])["synthetic_edges2shapes"]
    assert ("feature_kd", "fid", BEST) in marks and not any(m[:2] == ("omgd", "fid") for m in marks)
    i2i = _leaderboards(_sections(boards["separable"].read_text())["synthetic_edges2shapes"])[0]
    assert re.search(r'<td class="num best"[^>]*><b>', i2i)


@pytest.mark.browser
def test_page_fits_1400_px_without_overlapping_text(boards: dict[str, Path]) -> None:
    """At 1,400 px nothing passes the window's right edge and no text box covers another: as the page opens, and
    with every fold and column open (then only inside a table's own sideways scroll)."""
    reason = browser_skip_reason()
    if reason:
        pytest.skip(reason)
    errors: list[str] = []
    with chromium_page(errors) as page:
        for name, path in boards.items():
            page.goto(path.as_uri(), wait_until="load")
            assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
            assert page.evaluate(OVERFLOW_JS, False) == [], name
            closed = page.evaluate(OVERLAPS_JS)
            assert closed["boxes"] > 100 and closed["overlaps"] == [], (name, closed["overlaps"])
            page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
            for box in page.locator("input.show-secondary").all():
                box.check()
            assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
            assert page.evaluate(OVERFLOW_JS, True) == [], name
            opened = page.evaluate(OVERLAPS_JS)
            assert opened["boxes"] > closed["boxes"] and opened["overlaps"] == [], (name, opened["overlaps"])
    assert errors == []


def test_curve_panels_keep_their_text_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """Long row labels (CRD's and DCD's hyperparameters) wrap: no title, axis label, tick label or legend entry of
    the training-curve figure overlaps another."""
    history = {"steps": list(range(5, 105, 5)), "G_gan": [1.0 + 1 / s for s in range(5, 105, 5)],
               "D": [0.5] * 20, "crd": [2.0 - s / 100 for s in range(5, 105, 5)]}
    label = "crd / resnet ngf4 b3 / lambda_feature=0.0, lambda_style=0.0, steps_count=student, ndf=16"
    fig = loss_curves([(f"{label} {i}", [history, history]) for i in range(5)])
    renderer = FigureCanvasAgg(fig).get_renderer()
    drawn: dict[int, Text] = {}  # the texts drawn (an axis draws only the tick labels inside its limits)
    draw = Text.draw

    def record(text: Text, renderer: Any) -> None:
        if text.get_visible() and text.get_text().strip():
            drawn[id(text)] = text
        draw(text, renderer)

    monkeypatch.setattr(Text, "draw", record)
    fig.draw(renderer)
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in drawn.values()]
    assert len(boxes) > 30 and sum("steps_count=student" in text for text, _ in boxes) == 5
    clashes = [(a, b) for (a, ba), (b, bb) in combinations(boxes, 2)
               if min(ba.x1, bb.x1) - max(ba.x0, bb.x0) > 1 and min(ba.y1, bb.y1) - max(ba.y0, bb.y0) > 1]
    assert clashes == []
