"""Two threadlog executables' `threadlog rebuild` of one database, taking turns.

A rebuild of 100,000 events swung from 7,400 to 9,500 events/s between runs minutes apart on
this shared machine, whichever build ran: only builds measured in alternation (A B A B ...)
on the same log can be compared. Seed the database first (bench/seed_log.py after `threadlog
migrate` and `threadlog sites create`); every rebuild replays the same log and leaves the read
models as they were. Each run's events/s counts from the process's start (imports included),
as an operator would time the command.

.venv/bin/python bench/rebuild_ab.py --a OLD/.venv/bin/threadlog --b .venv/bin/threadlog \\
    --database-url postgresql://postgres@127.0.0.1:5499/rb --rounds 4
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import time

REBUILT = re.compile(r"rebuilt every read model from (\d+) events")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", required=True, help="threadlog executable A (the baseline)")
    parser.add_argument("--b", required=True, help="threadlog executable B (the change)")
    parser.add_argument("--rounds", type=int, default=4, help="rebuilds per side")
    parser.add_argument("--database-url", required=True, help="a seeded database")
    return parser.parse_args()


def rebuild(executable: str, database_url: str) -> float:
    """Events per second of one `threadlog rebuild`."""
    started = time.perf_counter()
    done = subprocess.run(
        [executable, "rebuild"],
        env=os.environ | {"DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - started
    found = REBUILT.search(done.stdout + done.stderr)
    if found is None:
        raise SystemExit(f"{executable} rebuild said nothing of its events:\n{done.stderr}")
    return int(found.group(1)) / elapsed


def main() -> None:
    args = parse_args()
    if not os.environ.get("THREADLOG_KEK"):
        raise SystemExit("set THREADLOG_KEK to the KEK the database was seeded with")
    rates: dict[str, list[float]] = {"a": [], "b": []}
    for round_number in range(1, args.rounds + 1):
        for side, executable in (("a", args.a), ("b", args.b)):
            rates[side].append(rebuild(executable, args.database_url))
            print(f"round {round_number} {side}: {rates[side][-1]:,.0f} events/s", flush=True)
    a, b = statistics.median(rates["a"]), statistics.median(rates["b"])
    print(f"median A {a:,.0f} events/s, B {b:,.0f} events/s, B/A {100 * b / a:.1f}%")


if __name__ == "__main__":
    main()
