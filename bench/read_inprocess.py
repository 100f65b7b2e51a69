"""A cached thread read's server work in one process, without sockets or a load generator.

The real app (create_app, run by an AppRunner as `serve` runs it, access lines to /dev/null)
is fed pipelined requests for the 200-comment thread through a transport that only counts
the answers; each round is timed with process_time. Under `valgrind --tool=cachegrind` the
instruction count is the same from one run to the next (to 0.01% here), where the CPU time
of a served read on this shared machine moves by a third: take the difference of a run of
one round and one of four, divided by the 3,000 requests between them.

Seed a database first (bench/floor.py's seeding; keep THREADLOG_KEK for the second step):
    export THREADLOG_KEK=$(.venv/bin/threadlog kek new)   # or any 32 random bytes, base64
    .venv/bin/python bench/read_inprocess.py --seed        # prints DATABASE_URL PATH
Then (-P: the service package, not bench/service.py):
    .venv/bin/python -P bench/read_inprocess.py URL PATH [--requests 2000 --rounds 15]
    valgrind --tool=cachegrind --cache-sim=no .venv/bin/python -P bench/read_inprocess.py \\
        URL PATH --requests 1000 --rounds 0      # and --rounds 3; Ir difference / 3000
--floor answers as bench/hello.py --body does (aiohttp alone) with the thread's body as
bench/floor.py saved it in bench/results/thread200.json; --no-access-log leaves the lines out.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


class CountingTransport(asyncio.Transport):
    """Takes whatever is written and counts the responses begun."""

    def __init__(self) -> None:
        super().__init__()
        self.responses = 0

    def count(self, data: Any) -> None:
        if bytes(data[:9]) == b"HTTP/1.1 ":
            self.responses += 1

    def write(self, data: Any) -> None:
        self.count(data)

    def writelines(self, list_of_data: Any) -> None:
        chunks = list(list_of_data)
        if chunks:
            self.count(chunks[0])

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8080)}.get(
            name, default
        )

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass

    def can_write_eof(self) -> bool:
        return True

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def measure(args: argparse.Namespace) -> None:
    from aiohttp import web

    from service import logs
    from service.app import ACCESS_LINES, create_app
    from service.settings import Settings

    logs.configure("INFO", logs.LogFormat.JSON)
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logs.LinesPerTurn)
    handler.setStream(open(os.devnull, "w"))  # noqa: SIM115, ASYNC230 (for the process's life)
    settings = Settings(database_url=args.url)
    if args.floor:
        sys.path.insert(0, str(HERE))
        from hello import thread_read

        app = web.Application()
        body = (HERE / "results" / "thread200.json").read_bytes()
        app.router.add_get("/{path:.*}", thread_read(body))
    else:
        app = create_app(settings)
    access = not (args.floor or args.no_access_log)
    runner = web.AppRunner(
        app,
        access_log=logging.getLogger("threadlog.access") if access else None,
        access_log_class=ACCESS_LINES,
        handle_signals=False,
        handler_cancellation=True,
        keepalive_timeout=settings.header_timeout_seconds,
    )
    await runner.setup()
    assert runner.server is not None
    gc.freeze()  # as server.serve does
    request = (
        f"GET {args.path}?limit=200 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAccept: */*\r\n"
        "Accept-Encoding: gzip, deflate\r\nUser-Agent: Python/3.11 aiohttp/3.14\r\n\r\n"
    ).encode()
    spent: list[float] = []
    for round_number in range(args.rounds + 1):  # the first warms the caches
        transport = CountingTransport()
        protocol = runner.server()
        protocol.connection_made(transport)
        started = time.process_time()
        sent = 0
        while sent < args.requests:
            protocol.data_received(request * 16)
            sent += 16
            while transport.responses < sent:  # noqa: ASYNC110 (each turn serves some)
                await asyncio.sleep(0)
        if round_number:
            spent.append((time.process_time() - started) / sent * 1e6)
        protocol.connection_lost(None)
        await asyncio.sleep(0.05)
    if spent:
        print(f"{statistics.median(spent):.1f} µs a request (median of {args.rounds} rounds; "
              f"least {min(spent):.1f})")  # fmt: skip
    await runner.cleanup()


async def seed_database() -> None:
    import aiohttp
    from db import create_database, with_database
    from scenarios import THREAD_200, Config, seed

    from service import Service  # bench/service.py

    base = "postgresql://postgres@127.0.0.1:5432/postgres"
    url = with_database(base, await create_database(base))
    svc = Service(url, HERE / "results", name="read-inprocess-seed")
    async with aiohttp.ClientSession() as session:
        await svc.start()
        try:
            await seed(session, svc, await svc.provision(), Config(3.0, 32, 1, 16, 300))
            print(url, svc.comments_url(THREAD_200).split(str(svc.port), 1)[1])
        finally:
            await svc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?")
    parser.add_argument("path", nargs="?")
    parser.add_argument("--seed", action="store_true", help="seed a database, print URL PATH")
    parser.add_argument("--requests", type=int, default=2000, help="per round")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--floor", action="store_true", help="aiohttp alone (hello.py --body)")
    parser.add_argument("--no-access-log", action="store_true")
    args = parser.parse_args()
    if args.seed:
        asyncio.run(seed_database())
        return
    if args.url is None or args.path is None:
        parser.error("give URL and PATH (from --seed)")
    import uvloop

    uvloop.run(measure(args))


if __name__ == "__main__":
    main()
