"""Subprocess helpers: free ports, starting/stopping servers, running CLI commands."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
import socket
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

import aiohttp

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port that was free a moment ago on loopback (small race, fine for a bench)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


class ManagedProcess:
    """A long-running child (a server) that is always stopped, even on error or Ctrl-C."""

    def __init__(self, name: str, argv: Sequence[str], env: Mapping[str, str], log_path: Path):
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.log_path = log_path
        self.proc: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None

    async def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log,
            stderr=asyncio.subprocess.STDOUT,
        )

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            text = self.log_path.read_text(errors="replace")
            return "\n".join(text.splitlines()[-lines:])
        return ""

    async def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds."""
        proc = self.proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


async def wait_http_ok(url: str, proc: ManagedProcess, limit_s: float) -> None:
    """Poll `url` until it answers 200; fail fast if the process died."""
    deadline = time.monotonic() + limit_s
    last = "no answer"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.monotonic() < deadline:
            if not proc.alive:
                raise RuntimeError(
                    f"{proc.name} exited early (rc={proc.proc and proc.proc.returncode}); "
                    f"log tail:\n{proc.log_tail()}"
                )
            try:
                async with session.get(url) as resp:
                    if resp.status == 200:
                        return
                    last = f"HTTP {resp.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                last = type(exc).__name__
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {limit_s}s ({last}); log tail:\n{proc.log_tail()}")


async def run_command(argv: Sequence[str], env: Mapping[str, str], limit_s: float) -> str:
    """Run a short CLI command; return stdout, raise with its output on failure."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), limit_s)
    except BaseException:
        # Timeout or Ctrl-C: never leave the child behind.
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} failed (rc={proc.returncode}):\n"
            f"{out.decode(errors='replace')}{err.decode(errors='replace')}"
        )
    return out.decode(errors="replace")


def last_line(text: str) -> str:
    """The last non-empty line (the CLI prints a new key alone on its last line)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("command printed nothing")
    return lines[-1]


# One KEK for the whole bench run: the service, the seeder and `threadlog rebuild` share it.
# (Made here: `service` is bench/service.py on this path, not the package.)
BENCH_KEK = os.environ.get("THREADLOG_KEK") or base64.urlsafe_b64encode(os.urandom(32)).decode()


def child_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env["THREADLOG_KEK"] = BENCH_KEK
    env.update(overrides)
    return env
