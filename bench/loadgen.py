"""Closed-loop load generation: N tasks, each looping request -> response until a deadline."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from cpu import CpuProbe

# One operation. Returns None on success, or a short error kind ("http 404") on failure.
# Transport exceptions are caught by the loop and counted as errors too.
Op = Callable[[], Awaitable[str | None]]


@dataclass
class Result:
    name: str
    ok: int = 0
    errors: int = 0
    elapsed_s: float = 0.0
    concurrency: int = 0
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    error_kinds: Counter[str] = field(default_factory=Counter)
    # CPU seconds spent by the server process and the database's backends while measured.
    server_cpu_s: float | None = None
    database_cpu_s: float | None = None

    @property
    def throughput(self) -> float:
        """Successful operations per second."""
        return self.ok / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def percentile(self, p: float) -> float | None:
        """Nearest-rank percentile of successful latencies, in ms."""
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1]

    def cpu_ms(self, seconds: float | None) -> float | None:
        """CPU milliseconds per successful operation."""
        return None if seconds is None or not self.ok else seconds * 1000 / self.ok

    def summary(self) -> dict[str, Any]:
        return {
            "count": self.ok + self.errors,
            "ok": self.ok,
            "errors": self.errors,
            "error_kinds": dict(self.error_kinds),
            "elapsed_s": round(self.elapsed_s, 3),
            "concurrency": self.concurrency,
            "throughput_per_s": round(self.throughput, 1),
            "p50_ms": _round(self.percentile(50)),
            "p99_ms": _round(self.percentile(99)),
            "server_cpu_ms_per_op": _round(self.cpu_ms(self.server_cpu_s)),
            "database_cpu_ms_per_op": _round(self.cpu_ms(self.database_cpu_s)),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


async def _worker(op: Op, deadline: float, result: Result) -> None:
    # Check the deadline before an op, never mid-flight: closed loop, nothing cancelled.
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        try:
            error = await op()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any failure is a counted error, not a crash
            error = type(exc).__name__
        if error is None:
            result.ok += 1
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
        else:
            result.errors += 1
            result.error_kinds[error] += 1


async def _phase(name: str, op: Op, seconds: float, concurrency: int) -> Result:
    result = Result(name=name, concurrency=concurrency)
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(_worker(op, deadline, result) for _ in range(concurrency)))
    # Elapsed includes the tail of in-flight ops, so throughput is not inflated.
    result.elapsed_s = time.perf_counter() - started
    return result


async def run_closed_loop(
    name: str,
    op: Op,
    *,
    duration: float,
    concurrency: int,
    warmup: float = 0.0,
    cpu: CpuProbe | None = None,
) -> Result:
    """Warm up (connections, caches, JIT-less but still lazy imports), then measure."""
    if warmup > 0:
        await _phase(name, op, warmup, concurrency)
    before = await cpu.sample() if cpu is not None else None
    result = await _phase(name, op, duration, concurrency)
    if cpu is not None and before is not None:
        spent = cpu.spent(before, await cpu.sample())
        result.server_cpu_s, result.database_cpu_s = spent.server_s, spent.database_s
    return result


def merged(name: str, windows: list[Result]) -> Result:
    """The windows of one scenario as one result (their counts, times and CPU summed)."""
    whole = Result(name=name, concurrency=windows[0].concurrency)
    for window in windows:
        whole.ok += window.ok
        whole.errors += window.errors
        whole.elapsed_s += window.elapsed_s
        whole.latencies_ms += window.latencies_ms
        whole.error_kinds += window.error_kinds
        for spent_on in ("server_cpu_s", "database_cpu_s"):
            spent = getattr(window, spent_on)
            if spent is not None:
                setattr(whole, spent_on, (getattr(whole, spent_on) or 0.0) + spent)
    return whole
