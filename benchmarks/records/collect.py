"""The result store as a pandas DataFrame, one row per job, for ``status``, ``collect`` and the report.

Jobs that a grid run expected (its manifest) but that have no record appear as ``missing``;
a corrupt record appears as ``missing`` with the reason, so nothing is silently dropped. The rerun command of
every row is rebuilt from its stored config (:func:`kd_gan_bench.benchmarks.records.provenance.rebuilt_rerun_command`), never copied
from the record: a record is data anyone who can write the results folder can edit, and its text must not reach
a command line a reader copies; where it cannot be rebuilt, ``rerun_error`` says why, in that row only. Every metric a
record holds becomes a column (a list or mapping as its JSON text): the metric specs' columns first
(:data:`kd_gan_bench.benchmarks.metrics.METRICS`), then the protocol columns, then any other, sorted.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from kd_gan_bench.benchmarks.metrics import METRICS
from kd_gan_bench.benchmarks.core.config import JobConfig
from kd_gan_bench.benchmarks.records.provenance import code_version, config_hash, rebuilt_rerun_command
from kd_gan_bench.benchmarks.core.store import CorruptRecord, ResultStore
from kd_gan_bench.methods import ARTIFACTS, METHODS
from kd_gan_bench.methods.networks.network_spec import describe_network

#: Which metric is the job's headline and how it was measured, recorded by every model job.
JOB_PROTOCOL_COLUMNS = ("quality_metric", "eval_protocol")


def protocol_columns() -> list[str]:
    """How a metric was measured: the ``protocol`` columns of every metric spec, then :data:`JOB_PROTOCOL_COLUMNS`;
    every frame has them, so the report can always read them."""
    return list(dict.fromkeys([c for spec in METRICS.in_order() for c in spec.protocol] + list(JOB_PROTOCOL_COLUMNS)))


def artifact_columns() -> list[str]:
    """The columns the artifacts' report tables read (cGAN-KD's fake-set counts and FIDs), from their entries."""
    return [column[0] for name in ARTIFACTS for column in (ARTIFACTS.info(name).table or {}).get("columns", ())]


BASE_COLUMNS = ("job_id", "phase", "status", "suite", "family", "task", "method", "teacher", "student", "hparams",
                "seed")
#: How to rerun a job (:mod:`kd_gan_bench.benchmarks.records.provenance`), its training plan and its loss history (JSON text), for the
#: report.
PROVENANCE_COLUMNS = ("rerun_command", "rerun_error", "config_hash", "git_commit", "plan", "history")
#: The provenance columns read from the record as they are (the command is rebuilt, the hash recomputed).
RECORD_PROVENANCE = ("git_commit", "plan", "history")
TAIL_COLUMNS = ("error", "samples_png", "inputs_png", "log_path", "train_s", "total_s", *PROVENANCE_COLUMNS)


def metric_columns(found: Iterable[str] = ()) -> list[str]:
    """The metric columns of a frame: every spec's (and the columns it writes with it), the protocol columns,
    then the other metrics ``found`` in records, sorted."""
    columns = list(dict.fromkeys([c for spec in METRICS.in_order() for c in (spec.name, *spec.also)]
                                 + protocol_columns() + artifact_columns()))
    return columns + sorted(set(found) - set(columns) - set(BASE_COLUMNS) - set(TAIL_COLUMNS))


def _cell(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, (list, dict, tuple)) else value


def expected_jobs(store: ResultStore) -> dict[str, dict[str, Any]]:
    """Job configs named by every grid run's manifest (newest run wins on duplicates)."""
    jobs: dict[str, dict[str, Any]] = {}
    for manifest in sorted((store.root / "runs").glob("*/manifest.json")):
        try:
            found = json.loads(manifest.read_text())["jobs"]
            jobs.update({job_id: config for job_id, config in found.items() if isinstance(config, dict)})
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            continue  # a manifest being written or damaged: its jobs still show up through their records
    return jobs


#: How a hyperparameter set to null reads in the board: the method derives its value (from the suite's schedule,
#: its fake-set settings, the task; see the method's docstring table).
UNSET = "auto"


def hparams_label(method: str, hparams: dict[str, Any]) -> str:
    """``k=v`` for every hyperparameter that differs from the method's default (its registry declaration, read
    without importing the method); a null value reads :data:`UNSET`."""
    defaults = METHODS.info(method).defaults if method in METHODS else {}
    return ", ".join(f"{k}={UNSET if v is None else v}" for k, v in sorted(hparams.items())
                     if defaults.get(k, object()) != v)


def teacher_note(teacher: dict[str, Any]) -> str:
    """How a teacher job got its weights, shown in its row: a published checkpoint, or nothing (trained)."""
    ref = teacher.get("checkpoint")
    return f"published checkpoint {Path(ref).name if '/' in ref and Path(ref).suffix else ref}" if ref else ""


def _row(config: dict[str, Any], status: str, record: dict[str, Any] | None, folder: Path) -> dict[str, Any]:
    teacher = describe_network(config["teacher"])
    row: dict[str, Any] = {
        "job_id": config["job_id"], "phase": config["phase"], "status": status, "suite": config.get("suite", ""),
        "family": config["family"], "task": config["task"], "method": config["method"],
        "teacher": teacher, "student": describe_network(config["student"]) if config["student"] else teacher,
        "hparams": hparams_label(config["method"], config["hparams"]) if config["phase"] == "student"
        else teacher_note(config["teacher"]) if config["phase"] == "teacher" else "",
        "seed": config["seed"], "error": None, "samples_png": None, "inputs_png": None,
        "log_path": str(folder / "job.log") if (folder / "job.log").exists() else None,
    }
    if record:
        row["error"] = record.get("error")
        metrics = record.get("metrics") or {}
        row.update({k: _cell(v) for k, v in metrics.items() if k not in row and k not in TAIL_COLUMNS})
        files = record.get("artifacts") or {}  # the record's name for the job's output files
        for key in ("samples_png", "inputs_png"):
            if files.get(key) and (folder / files[key]).exists():
                row[key] = str(folder / files[key])
        row["train_s"] = (record.get("timings") or {}).get("train_s")
        row["total_s"] = (record.get("timings") or {}).get("total_s")
        row.update({k: _cell(record.get(k)) for k in RECORD_PROVENANCE})
    else:  # a job a manifest expects: how to run it, with this checkout
        row["git_commit"] = code_version()
    row["rerun_command"], row["rerun_error"] = rebuilt_rerun_command(config, folder.parent.parent)
    row["config_hash"] = provenance_hash(config)
    return row


def provenance_hash(config: dict[str, Any]) -> str | None:
    """The config hash of a stored config (None where this code cannot read it)."""
    try:
        return config_hash(JobConfig.from_dict(config))
    except Exception:  # a manifest's config is data too
        return None


def collect(store: ResultStore) -> tuple[pd.DataFrame, list[str]]:
    """All jobs (recorded or expected) as a DataFrame, plus messages about corrupt records."""
    rows, problems, seen = [], [], set()
    corrupt: dict[str, CorruptRecord] = {}
    for record in store.records():
        if not isinstance(record, CorruptRecord):
            try:
                rows.append(_row(record["config"], record["status"], record, store.job_dir(record["job_id"])))
                seen.add(record["job_id"])
                continue
            except Exception as exc:  # a record is data: one this code cannot show is corrupt, the others go on
                record = CorruptRecord(store.record_path(record["job_id"]),
                                       f"its config cannot be shown ({type(exc).__name__}: {str(exc)[:200]})")
        corrupt[record.path.parent.name] = record
        problems.append(str(record))
    for job_id, config in expected_jobs(store).items():
        if job_id not in seen:
            try:
                row = _row(config, "missing", None, store.job_dir(job_id))
            except Exception:  # a damaged manifest entry: its job shows through its record, if any
                continue
            if job_id in corrupt:
                row["error"] = corrupt[job_id].reason
            rows.append(row)
    found = {key for row in rows for key in row}
    columns = [*BASE_COLUMNS, *metric_columns(found), *TAIL_COLUMNS]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["task", "phase", "method", "student", "seed"], ignore_index=True), problems
