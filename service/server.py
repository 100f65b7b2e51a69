"""Serving the app until SIGTERM or SIGINT, then shutting down within a bound.

The listening sockets are bound first (`listen`), before anything is printed or started, so a
port in use is said at once. On the first signal: stop accepting connections; end every live
stream at once (clients get a `retry:` hint and reconnect, to another instance or to this one
restarted); let the requests in progress finish (acknowledged writes are committed before
their 201, so nothing acknowledged can be lost); finish the queued writes; stop the webhook
dispatcher and the relay at a checkpoint; close the pool. If that takes longer than
`shutdown_seconds`, or on a second signal, the process exits at once.

Connections are bounded: the gate (gate.py) caps how many are open per client address and in
total; one whose request headers have not all arrived within `header_timeout_seconds` is
closed (aiohttp's keep-alive timer runs from the connection's start and is not reset by a
trickle of bytes, so it is that timeout); a body must arrive within `body_timeout_seconds`
(http/limits.py). A client that goes away cancels its handler (aiohttp's
`handler_cancellation`), so a live stream's slot is given back at once; writes are shielded
from that (write/application.py).
"""

import asyncio
import errno
import gc
import logging
import os
import signal
import socket
from collections.abc import Callable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_log import AccessLogger
from yarl import URL

from service.gate import ConnectionGate
from service.keys import SETTINGS, TRUSTED_PROXIES

log = logging.getLogger("threadlog.server")
ACCESS_LOG = logging.getLogger("threadlog.access")

# Of the shutdown's budget, the share the requests in progress get to finish; aiohttp then
# cancels them (and may wait as long again for that).
DRAIN_SHARE = 0.4


class PortInUse(OSError):
    pass


def listen(host: str, port: int, reuse_port: bool = False) -> list[socket.socket]:
    """Bound, listening sockets for every address of `host` (as asyncio's create_server
    binds them); raises PortInUse when one is taken. With `reuse_port`, more sockets may be
    bound to the same port (the kernel spreads new connections over them: see workers.py)."""
    addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    try:
        for family, kind, protocol, _, address in dict.fromkeys(addresses):
            listener = socket.socket(family, kind, protocol)
            sockets.append(listener)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                listener.bind(address)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    raise PortInUse(error.errno, f"{host}:{port} is already in use") from error
                if error.errno == errno.EADDRNOTAVAIL:
                    # That address family is not enabled here (as asyncio, skip it).
                    sockets.pop().close()
                    continue
                raise
            listener.listen(128)
            listener.setblocking(False)
            # Port 0 asked for any free port: the other addresses take the same one.
            port = listener.getsockname()[1]
        if not sockets:
            raise OSError(errno.EADDRNOTAVAIL, f"no address of {host} can be listened on")
    except BaseException:
        for listener in sockets:
            listener.close()
        raise
    return sockets


class ExpectedErrors(logging.Filter):
    """aiohttp logs a malformed request or a client gone mid-response as an error with a
    traceback; they are a client's doing: one line, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError | ConnectionError):
            message = " ".join(str(error).split())[:200]
            record.msg, record.args = f"{record.getMessage()}: {message}", ()
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


EXPECTED_ERRORS = ExpectedErrors()


def site_name(listener: socket.socket) -> str:
    host, port = listener.getsockname()[:2]
    return str(URL.build(scheme="http", host=host, port=port))


def exit_now(code: int, why: str) -> None:
    log.warning("%s; exiting now", why)
    logging.shutdown()
    os._exit(code)


async def serve(
    app: web.Application,
    sockets: list[socket.socket],
    announce: Callable[[str], None] = print,
    access_logger: type[AbstractAccessLogger] | None = None,
    orders: int | None = None,
) -> None:
    """Serve `app` on `sockets` until a signal, then shut down within the settings' bound.

    A worker of `serve --workers` (workers.py) is given `orders`, the read end of a pipe from
    its supervisor, instead: it ignores SIGINT and SIGTERM (a Ctrl-C reaches the whole process
    group, systemd signals the whole cgroup: that would be two signals), and each byte read is
    one signal; the pipe's end (the supervisor is gone) is one too."""
    settings = app[SETTINGS]
    shutdown_seconds = settings.shutdown_seconds
    logging.getLogger("aiohttp.server").addFilter(EXPECTED_ERRORS)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def on_signal(number: int) -> None:
        stop_requested(signal.Signals(number).name, 128 + number)

    def stop_requested(name: str, code: int) -> None:
        if stopping.is_set():
            exit_now(code, f"{name} again while shutting down")
        log.info("%s: shutting down, in %g s at most", name, shutdown_seconds)
        stopping.set()
        loop.call_later(
            shutdown_seconds,
            exit_now,
            1,
            f"still shutting down after {shutdown_seconds:g} s (THREADLOG_SHUTDOWN_SECONDS)",
        )

    def on_order() -> None:
        assert orders is not None
        if os.read(orders, 1):
            stop_requested("stop from the supervisor", 1)
            return
        loop.remove_reader(orders)
        if not stopping.is_set():
            stop_requested("the supervisor is gone", 1)

    if orders is None:
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, on_signal, number)
    else:
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, signal.SIG_IGN)
        loop.add_reader(orders, on_order)
    runner = web.AppRunner(
        app,
        access_log=ACCESS_LOG if settings.access_log and access_logger else None,
        access_log_class=access_logger or AccessLogger,
        handle_signals=False,
        shutdown_timeout=shutdown_seconds * DRAIN_SHARE,
        handler_cancellation=True,
        keepalive_timeout=settings.header_timeout_seconds,
    )
    # The app's startup (the pool, the wake-up connection, the workers) happens here.
    await runner.setup()
    assert runner.server is not None
    # What startup made (modules, settings, compiled patterns) lives as long as the process:
    # the collector need not walk it again at every full collection while requests run.
    gc.freeze()
    gate = ConnectionGate(
        runner.server,
        settings.max_connections,
        settings.max_connections_per_client,
        app[TRUSTED_PROXIES],
    )
    listening: list[asyncio.Server] = []
    try:
        for listener in sockets:
            listening.append(await loop.create_server(gate, sock=listener))
            announce(f"======== Running on {site_name(listener)} ========")
        await stopping.wait()
    finally:
        for server in listening:
            server.close()
        # Ends live streams (on_shutdown), waits for the requests in progress, then runs the
        # cleanups: queued writes, workers, the pool.
        await runner.cleanup()
    log.info("shut down")
