"""`threadlog serve --workers N`: N processes serving one port, each a whole `serve`.

Not gunicorn: server.py already is what a worker needs (the connection gate, the bounded
shutdown, the access log), and gunicorn's aiohttp worker would replace it with a runner of its
own. The supervisor here only binds, forks, watches and stops.

It binds a listening socket per worker, all on one port with SO_REUSEPORT (the kernel spreads
new connections over them by their addresses, so each process gets its share, unlike one
shared socket where the least busy one takes most), then forks the workers. It keeps every
socket open: a worker started again in place of one that died serves the same socket, so the
connections queued on it meanwhile are answered late rather than refused.

Once per cluster, not per process: the webhook dispatcher, the NATS relay and upkeep's
retention take PostgreSQL advisory locks, so every worker runs them and one at a time works;
when its connection ends (a worker killed), another takes over.

Stopping: SIGTERM or SIGINT to the supervisor sends each worker one byte on its pipe, and the
worker shuts down as `serve` does on a signal (within THREADLOG_SHUTDOWN_SECONDS); a second
signal makes them exit at once. Workers ignore signals (see server.serve). If the supervisor is
killed, its pipes close and the workers shut down by themselves.

A worker that dies is logged and started again (after 1 s, doubling while it keeps dying, up
to 30 s). A worker that fails before it ever served (a problem every restart would meet) stops
them all, and `serve` exits 1.
"""

import contextlib
import logging
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

from service.server import listen, site_name

log = logging.getLogger("threadlog.workers")

RESTART_SECONDS = 1.0
MAX_RESTART_SECONDS = 30.0
# A worker that served this long before it died starts again after RESTART_SECONDS.
STEADY_SECONDS = 60.0
# After the workers' own shutdown bound: the time to exit, then they are killed.
KILL_MARGIN_SECONDS = 5.0
POLL_SECONDS = 0.1

# What a worker runs: its sockets, the read end of its orders pipe, and what to call once it
# listens. It returns when it has shut down.
Work = Callable[[list[socket.socket], int, Callable[[], None]], None]


@dataclass
class Worker:
    index: int
    sockets: list[socket.socket]
    pid: int = 0
    orders: int = -1
    started: float = 0.0
    served: bool = False
    ever_served: bool = False
    failures: int = 0
    restart_at: float | None = None


@dataclass
class Supervisor:
    workers: list[Worker]
    shutdown_seconds: float
    work: Work
    stops: int = 0
    sent: int = 0
    kill_at: float | None = None
    failed: bool = False
    ready: tuple[int, int] = field(default_factory=os.pipe)

    def on_signal(self, number: int, frame: FrameType | None) -> None:
        self.stops += 1

    def start(self, worker: Worker) -> None:
        orders, order_writer = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(order_writer)  # or the pipe never ends when the supervisor dies
            self.become(worker, orders)
        os.close(orders)
        worker.pid, worker.orders, worker.served = pid, order_writer, False
        worker.started, worker.restart_at = time.monotonic(), None

    def become(self, worker: Worker, orders: int) -> None:
        """In the forked child: run the worker, then exit without running the supervisor's
        exit handlers (the embedded PostgreSQL is stopped by the supervisor's)."""
        code = 1
        try:
            for number in (signal.SIGINT, signal.SIGTERM):
                signal.signal(number, signal.SIG_IGN)
            os.close(self.ready[0])
            for other in self.workers:
                if other is not worker:
                    for listener in other.sockets:
                        listener.close()
                    if other.orders >= 0:
                        os.close(other.orders)

            def listening() -> None:
                os.write(self.ready[1], bytes([worker.index]))

            self.work(worker.sockets, orders, listening)
            code = 0
        except BaseException:
            log.exception("worker %d failed", worker.index)
        finally:
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def run(self, announce: Callable[[str], None]) -> int:
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, self.on_signal)
        os.set_blocking(self.ready[0], False)
        for worker in self.workers:
            self.start(worker)
        announced = False
        while any(worker.pid for worker in self.workers):
            self.pass_on_stops()
            self.reap()
            self.hear_ready()
            if not announced and all(worker.served for worker in self.workers):
                announced = True
                log.info("%d workers serve", len(self.workers))
                for listener in self.workers[0].sockets:
                    announce(f"======== Running on {site_name(listener)} ========")
            if not self.stops:
                self.restart_due()
            with contextlib.suppress(InterruptedError):
                select.select([self.ready[0]], [], [], POLL_SECONDS)
        return 1 if self.failed else 0

    def pass_on_stops(self) -> None:
        now = time.monotonic()
        if self.stops > self.sent:
            if self.sent == 0:
                log.info("stopping %d workers", len(self.workers))
                self.kill_at = now + self.shutdown_seconds + KILL_MARGIN_SECONDS
                for worker in self.workers:
                    for listener in worker.sockets:
                        listener.close()
            for worker in self.workers:
                if worker.pid:
                    with contextlib.suppress(OSError):
                        os.write(worker.orders, b"s")
            self.sent = self.stops
        if self.kill_at is not None and now > self.kill_at:
            for worker in self.workers:
                if worker.pid:
                    log.warning("worker %d still running; killing it", worker.index)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(worker.pid, signal.SIGKILL)
            self.kill_at = None

    def reap(self) -> None:
        for worker in self.workers:
            if not worker.pid:
                continue
            pid, status = os.waitpid(worker.pid, os.WNOHANG)
            if pid == 0:
                continue
            os.close(worker.orders)
            worker.pid, worker.orders = 0, -1
            self.ended(worker, os.waitstatus_to_exitcode(status))

    def ended(self, worker: Worker, code: int) -> None:
        how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited ({code})"
        if self.stops:
            if code != 0:
                log.warning("worker %d %s while stopping", worker.index, how)
                self.failed = True
            return
        if not worker.ever_served:
            log.error("worker %d %s before it served; stopping the others", worker.index, how)
            self.failed = True
            self.stops += 1
            return
        now = time.monotonic()
        if worker.served and now - worker.started > STEADY_SECONDS:
            worker.failures = 0
        delay = min(MAX_RESTART_SECONDS, RESTART_SECONDS * 2**worker.failures)
        worker.failures += 1
        worker.restart_at = now + delay
        log.warning("worker %d %s; starting another in %g s", worker.index, how, delay)

    def hear_ready(self) -> None:
        with contextlib.suppress(BlockingIOError):
            for index in os.read(self.ready[0], 1024):
                worker = self.workers[index]
                worker.served = worker.ever_served = True

    def restart_due(self) -> None:
        now = time.monotonic()
        for worker in self.workers:
            if not worker.pid and worker.restart_at is not None and now >= worker.restart_at:
                self.start(worker)
                log.info("worker %d started again (pid %d)", worker.index, worker.pid)


def bind_workers(host: str, port: int, count: int) -> list[list[socket.socket]]:
    """A set of listening sockets per worker, all on one port (port 0: one free port)."""
    first = listen(host, port, reuse_port=True)
    port = first[0].getsockname()[1]
    return [first, *(listen(host, port, reuse_port=True) for _ in range(count - 1))]


def run_workers(
    sockets: list[list[socket.socket]],
    shutdown_seconds: float,
    work: Work,
    announce: Callable[[str], None],
) -> int:
    """Serve with a worker per socket set until stopped; the exit code `serve` should have."""
    workers = [Worker(index, listeners) for index, listeners in enumerate(sockets)]
    return Supervisor(workers, shutdown_seconds, work).run(announce)
