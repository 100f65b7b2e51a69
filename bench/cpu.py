"""CPU time spent serving a scenario: the server process's and its database backends'.

Throughput on a shared machine swings with everyone else's load; the CPU seconds a process
spends per request hardly do. Both come from /proc/<pid>/stat (utime + stime), so the bench
must run on the machine that runs the service and PostgreSQL (it only talks to 127.0.0.1).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import asyncpg

TICKS = os.sysconf("SC_CLK_TCK")

# The backends serving the bench database, not the probe's own.
BACKENDS = """
SELECT pid FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
"""


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of `pid`, None once it is gone (or not on this machine)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            text = stat.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; the fields after its closing ')' do not.
    fields = text[text.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (the workers of `serve --workers N`)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                text = stat.read()
        except OSError:
            continue
        if int(text[text.rindex(b")") + 2 :].split()[1]) == pid:
            found.append(int(entry))
    return found


def tree_cpu_seconds(pid: int) -> float | None:
    """`pid`'s CPU seconds and its living children's: a supervisor's workers do the serving."""
    own = process_cpu_seconds(pid)
    if own is None:
        return None
    return own + sum(process_cpu_seconds(child) or 0.0 for child in children(pid))


@dataclass(frozen=True)
class Sample:
    server: float | None
    backends: dict[int, float]


@dataclass(frozen=True)
class Spent:
    server_s: float | None
    database_s: float | None


class CpuProbe:
    """Samples a server process (by pid) and the database's backends (by a connection)."""

    def __init__(self, server_pid: int | None, db_url: str | None) -> None:
        self.server_pid = server_pid
        self.db_url = db_url

    async def sample(self) -> Sample:
        server = tree_cpu_seconds(self.server_pid) if self.server_pid else None
        backends: dict[int, float] = {}
        if self.db_url:
            connection = await asyncpg.connect(self.db_url)
            try:
                for row in await connection.fetch(BACKENDS):
                    seconds = process_cpu_seconds(row["pid"])
                    if seconds is not None:
                        backends[row["pid"]] = seconds
            finally:
                await connection.close()
        return Sample(server, backends)

    @staticmethod
    def spent(before: Sample, after: Sample) -> Spent:
        server = None
        if before.server is not None and after.server is not None:
            server = after.server - before.server
        database = None
        if after.backends or before.backends:
            # A backend that appeared in between spent all it has; one that ended in between is
            # lost (pools keep theirs, so few do).
            database = sum(
                seconds - before.backends.get(pid, 0.0) for pid, seconds in after.backends.items()
            )
        return Spent(server, database)
