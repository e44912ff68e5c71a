"""Benchmark of the outcome statistics (models/marts/statistics), for `coeqwal bench`.

`run(db)` builds the statistics and everything upstream of them with dbt on a
database where scenarios have been ingested, and reports dbt's own timings per
model (from the run's `run_results.json`): the statistics models' wall time
(from the end of the upstream core models to the end of the last statistics
model: dbt runs two models at a time) and the sum of their execution times,
then the upstream core models separately. The benchmark calls
it after ingesting the first full-size scenario and again after the second; the
models are incremental by scenario, so the second call measures the extra time
of one more scenario (its statistics plus its comparisons with the baseline),
and its report repeats the first call's figures next to it.

dbt runs with its own target path (`target_bench_statistics/`) so a concurrent
build elsewhere cannot overwrite the run results being read. `coeqwal bench`
calls it right after each ingest, before the whole-project build, so the
statistics are timed alone. When a whole-project `dbt build` already built them
just before a call, this run has nothing left to do and the report uses that
build's timings instead (its `run_results.json`), saying so.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ingest.build import BuildError, run_dbt, target_path
from ingest.config import PROJECT_ROOT, DatabaseUrl

TARGET_PATH = PROJECT_ROOT / "target_bench_statistics"
SELECTOR = "+path:models/marts/statistics"
STATISTICS_PATHS = ("models/marts/statistics/", "models/intermediate/statistics/")
# The models the statistics read (staging, series classification, core marts).
# Others in a whole-project build (tiers, GIS, API, ops) run after or beside
# the statistics and are left out of the report.
UPSTREAM_PATHS = ("models/staging/dss/", "models/intermediate/series/", "models/marts/core/")
TARGET_SECONDS = 120.0


@dataclass(frozen=True)
class ModelTiming:
    name: str
    path: str
    status: str
    rows: int | None
    seconds: float
    started: datetime | None
    completed: datetime | None

    @property
    def is_statistics(self) -> bool:
        return self.path.startswith(STATISTICS_PATHS)

    @property
    def is_upstream(self) -> bool:
        return self.path.startswith(UPSTREAM_PATHS)


@dataclass(frozen=True)
class Report:
    label: str
    statistics_wall: float
    statistics_sum: float
    upstream_sum: float
    dbt_elapsed: float
    command_seconds: float
    models: list[ModelTiming]


_history: list[Report] = []


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def read_run_results(path: Path) -> tuple[list[ModelTiming], float]:
    """Per-model timings of a dbt run (models only), and dbt's elapsed time."""
    results = json.loads(path.read_text())
    manifest = json.loads((path.parent / "manifest.json").read_text())
    nodes = manifest.get("nodes", {})
    models = []
    for res in results.get("results", []):
        uid = res["unique_id"]
        if not uid.startswith("model."):
            continue
        execute = next((t for t in res.get("timing", []) if t.get("name") == "execute"), {})
        models.append(
            ModelTiming(
                name=uid.split(".")[-1],
                path=nodes.get(uid, {}).get("original_file_path", ""),
                status=res["status"],
                rows=(res.get("adapter_response") or {}).get("rows_affected"),
                seconds=float(res.get("execution_time") or 0.0),
                started=_parse_time(execute.get("started_at")),
                completed=_parse_time(execute.get("completed_at")),
            )
        )
    return models, float(results.get("elapsed_time") or 0.0)


def _wall_seconds(statistics: list[ModelTiming], upstream: list[ModelTiming]) -> float:
    """From the end of the upstream models (or the first statistics start, if
    later) to the last statistics model's end: the statistics' own wall time,
    not the time they wait for the core models."""
    starts = [m.started for m in statistics if m.started]
    ends = [m.completed for m in statistics if m.completed]
    if not starts or not ends:
        return sum(m.seconds for m in statistics)
    upstream_ends = [m.completed for m in upstream if m.completed]
    begin = max([min(starts), *upstream_ends])
    return (max(ends) - begin).total_seconds()


def _build(db: DatabaseUrl) -> float:
    """dbt seed, then dbt run of the statistics and their upstream; seconds of the run."""
    target = ["--target-path", str(TARGET_PATH)]
    if run_dbt(["seed", *target], db, quiet=True) != 0:
        raise BuildError("dbt seed failed (statistics benchmark)")
    start = time.monotonic()
    code = run_dbt(["run", "--select", SELECTOR, *target], db, quiet=True)
    seconds = time.monotonic() - start
    if code != 0:
        raise BuildError(f"dbt run --select {SELECTOR} failed (statistics benchmark)")
    return seconds


def _did_work(path: Path) -> bool:
    """Whether the run in `path` computed statistics (some statistics model wrote rows)."""
    if not path.exists() or not (path.parent / "manifest.json").exists():
        return False
    models, _ = read_run_results(path)
    return any(m.is_statistics and (m.rows or 0) > 0 for m in models)


def _summarise(label: str, command_seconds: float, results: Path) -> Report:
    models, elapsed = read_run_results(results)
    statistics = [m for m in models if m.is_statistics]
    upstream = [m for m in models if m.is_upstream]
    return Report(
        label=label,
        statistics_wall=_wall_seconds(statistics, upstream),
        statistics_sum=sum(m.seconds for m in statistics),
        upstream_sum=sum(m.seconds for m in upstream),
        dbt_elapsed=elapsed,
        command_seconds=command_seconds,
        models=statistics + upstream,
    )


def _lines(report: Report) -> list[str]:
    lines = [
        f"\nStatistics build, {report.label}",
        "| model | layer | status | rows | seconds |",
        "|---|---|---|---:|---:|",
    ]
    for m in sorted(report.models, key=lambda m: (not m.is_statistics, -m.seconds)):
        layer = "statistics" if m.is_statistics else "upstream"
        rows = "-" if m.rows is None else f"{m.rows:,}"
        lines.append(f"| {m.name} | {layer} | {m.status} | {rows} | {m.seconds:,.1f} |")
    verdict = "meets" if report.statistics_wall <= TARGET_SECONDS else "MISSES"
    lines += [
        f"statistics models: {report.statistics_wall:,.1f} s wall (end of the upstream models "
        f"to the last statistics model, 2 dbt threads), {report.statistics_sum:,.1f} s summed; "
        f"{verdict} the {TARGET_SECONDS:.0f} s target",
        f"upstream core models: {report.upstream_sum:,.1f} s summed; dbt elapsed "
        f"{report.dbt_elapsed:,.1f} s; command {report.command_seconds:,.1f} s",
    ]
    return lines


def run(db: DatabaseUrl) -> list[str]:
    """Build the statistics on `db` and return report lines with dbt's timings.

    Call it once after each scenario is ingested: the first call reports the
    time for the first scenario, later calls the extra time for one more.
    """
    label = "first scenario" if not _history else f"scenario {len(_history) + 1} (extra time)"
    seconds = _build(db)
    results = TARGET_PATH / "run_results.json"
    source = f"dbt run --select {SELECTOR}"
    preceding = target_path() / "run_results.json"
    if not _did_work(results) and _did_work(preceding):
        # A whole-project `dbt build` just before this call already built the
        # statistics for the new scenario (ours found nothing left to do):
        # report that build's timings.
        results, source = preceding, f"the preceding dbt build ({preceding})"
    report = _summarise(f"{label}, timings from {source}", seconds, results)
    _history.append(report)
    lines = _lines(report)
    if len(_history) > 1:
        first = _history[0]
        lines.append(
            f"first scenario: statistics {first.statistics_wall:,.1f} s wall; "
            f"extra for this one: {report.statistics_wall:,.1f} s wall "
            f"(its comparisons with the baseline included)"
        )
    return lines


def main() -> int:
    """`python -m coeqwal_tools.bench.statistics`: one report on the active database."""
    from ingest.config import active_database

    for line in run(active_database()):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
