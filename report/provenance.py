"""What the leaderboard says about where its numbers come from (issue 13, items 5 and 6).

* Per row (a configuration aggregated over seeds): the command that reruns all its seeds, each seed's job id,
  the config hashes and git commits of its records, and its training plan (networks by role, what trains them:
  :mod:`kd_gan_bench.benchmarks.planning.training_plan`). The seeds' commands (``kd_gan_bench.benchmarks.records.provenance``) differ only in ``--seeds`` and
  ``--jobs``; they are merged into one ``grid`` command naming every seed and job id. The commands are the ones
  ``collect`` rebuilt from the stored configs; where a seed's could not be rebuilt (``rerun_error``), or the commands
  cannot be read, the row says so and shows no command: a problem stays in its row.
* Per column, once per table: how MACs and latency were measured, read from the records (the counter and its
  torch version, the input shape; device, runtime, threads, batch, warm-up and repeats, median and IQR). Where
  the methods of one table were measured differently, the note says which method used which protocol.
"""
from __future__ import annotations

import json
import shlex
from typing import Any, Sequence

import pandas as pd

#: Flags of a ``grid`` command whose values differ between the seeds of one row.
PER_SEED_FLAGS = ("--seeds", "--jobs")


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _split(command: str) -> tuple[list[str], dict[str, list[str]]]:
    """The tokens of ``command`` without the per-seed flags, and those flags' values."""
    tokens, values, flag = [], {f: [] for f in PER_SEED_FLAGS}, None
    for token in shlex.split(command):
        if token in PER_SEED_FLAGS:
            flag = token
        elif flag and not token.startswith("--"):
            values[flag].append(token)
        else:
            flag = None
            tokens.append(token)
    return tokens, values


def row_command(commands: Sequence[str]) -> str:
    """One command rerunning every seed of a row: the seeds' commands with their ``--seeds`` and ``--jobs``
    values joined (before ``--results``); commands that differ otherwise are chained with ``&&``."""
    commands = list(dict.fromkeys(c for c in commands if c))
    if len(commands) < 2:
        return commands[0] if commands else ""
    parts = [_split(c) for c in commands]
    if any(tokens != parts[0][0] for tokens, _ in parts):
        return " && ".join(commands)
    tokens = parts[0][0]
    at = tokens.index("--results") if "--results" in tokens else len(tokens)
    merged = []
    for flag in PER_SEED_FLAGS:
        values = list(dict.fromkeys(v for _, found in parts for v in found[flag]))
        merged += [flag, *values]  # the rows' jobs come in seed order
    return shlex.join(tokens[:at] + merged + tokens[at:])


def row_provenance(jobs: pd.DataFrame) -> dict[str, Any]:
    """The template's provenance of one row from its jobs (one per seed): ``command``, ``problems`` (why there is no
    command), ``seeds`` (seed, job id), ``hashes`` and ``commits`` (distinct, in seed order)."""
    jobs = jobs.sort_values("seed", kind="mergesort")
    column = (lambda name: [_text(v) for v in jobs[name]] if name in jobs.columns else [])  # noqa: E731
    seeds = [{"seed": _text(int(s) if isinstance(s, float) and s.is_integer() else s), "job_id": j}
             for s, j in zip(jobs["seed"], jobs["job_id"])]
    problems = [p for p in dict.fromkeys(column("rerun_error")) if p]
    command = ""
    if not problems:
        try:
            command = row_command(column("rerun_command"))
        except ValueError as exc:  # shlex: an unbalanced quote
            problems = [f"the rerun command could not be rebuilt ({exc})"]
    return {"command": command, "problems": problems, "seeds": seeds,
            "hashes": [h for h in dict.fromkeys(column("config_hash")) if h],
            "commits": [c for c in dict.fromkeys(column("git_commit")) if c],
            "plan": plan_text(next((p for p in column("plan") if p), ""))}


def plan_text(plan_json: str) -> str:
    """A row's training plan (the record's ``plan``, JSON text; :mod:`kd_gan_bench.benchmarks.planning.training_plan`) as indented JSON
    of what the seeds share: its networks and what trains them, its losses and interleaving ("" without one)."""
    try:
        plan = json.loads(plan_json) if plan_json else None
    except ValueError:
        return ""
    if not isinstance(plan, dict):
        return ""
    shared = {k: plan[k] for k in ("method", "task", "trains", "networks", "losses", "interleave") if k in plan}
    return json.dumps(shared, indent=1, sort_keys=False)


def _by_method(done: pd.DataFrame, describe) -> list[str]:
    """One protocol text for the table, or, where methods differ, one per protocol naming its methods."""
    texts = {}
    for row in done.to_dict("records"):
        text = describe(row)
        if text:
            texts.setdefault(text, set()).add(_text(row.get("method")))
    if len(texts) <= 1:
        return list(texts)
    return [f"{', '.join(sorted(methods))}: {text}" for text, methods in texts.items()]


def _macs_text(row: dict[str, Any]) -> str:
    counter, shape = _text(row.get("macs_counter")), _text(row.get("macs_input"))
    return f"counted with {counter} on a {shape} input" if counter else ""


def _latency_text(row: dict[str, Any]) -> str:
    runtime = _text(row.get("latency_runtime"))
    if not runtime:
        return ""
    device = _text(row.get("latency_device"))
    name = _text(row.get("latency_device_name"))
    return (f"median of {_text(row.get('latency_repeats'))} timed batch-{_text(row.get('latency_batch'))} forwards "
            f"after {_text(row.get('latency_warmup'))} warm-up forwards (the IQR is recorded per job) on {device}"
            f"{f' ({name})' if name and name != device else ''}, {runtime}, {_text(row.get('latency_threads'))} "
            f"torch threads; comparable only within one machine")


def column_notes(task_df: pd.DataFrame) -> dict[str, list[str]]:
    """Per cost column of a task's table (``macs``, ``latency_ms``), how its numbers were measured, from the
    done jobs' records (empty for records older than these fields)."""
    done = task_df[task_df["status"] == "done"]
    numeric = {"latency_repeats", "latency_batch", "latency_warmup", "latency_threads"}
    done = done.assign(**{c: done[c].map(lambda v: _text(int(v)) if isinstance(v, float) and not pd.isna(v) else v)
                          for c in numeric if c in done.columns})
    latency = _by_method(done, _latency_text)
    iqr = pd.to_numeric(done["latency_ms_iqr"], errors="coerce").dropna() if "latency_ms_iqr" in done else []
    if latency and len(iqr):
        latency.append(f"per-job interquartile range of the timed forwards: median {iqr.median():.2f} ms "
                       f"(from {iqr.min():.2f} to {iqr.max():.2f} ms over the table's jobs)")
    return {"macs": _by_method(done, _macs_text), "latency_ms": latency}
