"""Results: a table on stdout, ratios against the ceilings, and bench/results/latest.json."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from loadgen import Result

# (name, numerator, denominator, target): the service's throughput as a share of a ceiling.
RATIOS = [
    ("post_comment / raw_insert", "post_comment", "raw_insert", 0.50),
    ("get_thread_200 / hello_world", "get_thread_200", "hello_world", 0.60),
    ("post_into_10k / post_into_empty", "post_into_10k", "post_into_empty", 0.90),
    ("post_comment / post_into_empty", "post_comment", "post_into_empty", 0.90),
    ("post_replies / post_into_empty", "post_replies", "post_into_empty", 0.90),
]

# (scenario, target): the serving process's CPU milliseconds per request, at most (issue 15).
CPU_TARGETS = [("post_comment", 0.8), ("get_thread_200", 0.15), ("counts_50", 0.2)]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _fmt3(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_table(results: dict[str, Result]) -> None:
    header = (
        f"{'scenario':<18} {'count':>8} {'errors':>7} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9}"
        f" {'cpu ms/req':>10} {'db ms/req':>10}"
    )
    print("\n" + header)
    print("-" * len(header))
    for r in results.values():
        print(
            f"{r.name:<18} {r.ok + r.errors:>8} {r.errors:>7} {r.throughput:>10.1f} "
            f"{_fmt(r.percentile(50)):>9} {_fmt(r.percentile(99)):>9}"
            f" {_fmt3(r.cpu_ms(r.server_cpu_s)):>10} {_fmt3(r.cpu_ms(r.database_cpu_s)):>10}"
        )
        if r.error_kinds:
            kinds = ", ".join(f"{k} x{n}" for k, n in r.error_kinds.most_common(5))
            print(f"{'':<18} errors: {kinds}")


def ratios(results: dict[str, Result]) -> list[dict[str, Any]]:
    out = []
    for label, num, den, target in RATIOS:
        if num in results and den in results and results[den].throughput > 0:
            value = results[num].throughput / results[den].throughput
            out.append(
                {
                    "ratio": label,
                    "value": round(value, 3),
                    "target": target,
                    "meets_target": value >= target,
                }
            )
    return out


def cpu_targets(results: dict[str, Result]) -> list[dict[str, Any]]:
    out = []
    for name, target in CPU_TARGETS:
        found = results.get(name)
        value = found.cpu_ms(found.server_cpu_s) if found is not None else None
        if value is not None:
            out.append(
                {
                    "scenario": name,
                    "server_cpu_ms_per_request": round(value, 3),
                    "target_ms": target,
                    "meets_target": value <= target,
                }
            )
    return out


def print_ratios(rows: list[dict[str, Any]], cpu_rows: list[dict[str, Any]]) -> None:
    if rows:
        print()
    for row in rows:
        verdict = "ok" if row["meets_target"] else "BELOW TARGET"
        target = f"(target >= {row['target']:.0%})"
        print(f"{row['ratio']:<34} {row['value']:>6.1%}  {target}  {verdict}")
    for row in cpu_rows:
        verdict = "ok" if row["meets_target"] else "ABOVE TARGET"
        target = f"(target <= {row['target_ms']:.2f})"
        label = f"{row['scenario']} server CPU ms/request"
        print(f"{label:<34} {row['server_cpu_ms_per_request']:>6.3f}  {target}  {verdict}")


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def write_json(path: Path, results: dict[str, Result], params: dict[str, Any]) -> None:
    doc = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "git_commit": _git_commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        "params": params,
        "results": {name: r.summary() for name, r in results.items()},
        "ratios": ratios(results),
        "cpu_targets": cpu_targets(results),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"\nwrote {path}")
