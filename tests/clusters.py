"""Private PostgreSQL clusters for tests that make the database fail (restarts, restores,
replicas): `initdb` into a temporary folder, served on a free loopback port, run as a non-root
user when the tests run as root. The shared server on 5432 is never touched."""

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from service.ops import migrate

# Debian keeps the server programs off PATH, one folder per major version.
BIN_FOLDERS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))


def program(name: str) -> str:
    for folder in reversed(BIN_FOLDERS):
        if (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@dataclass
class Cluster:
    folder: Path
    port: int

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            as_server_user(list(command)), capture_output=True, text=True, check=check, timeout=120
        )

    def init(self) -> None:
        self.run(program("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                 "-E", "UTF8", "--no-sync")  # fmt: skip

    def start(self) -> None:
        # No fsync: a crash of the server (not of the machine) loses nothing written, and a
        # commit is still written before it is acknowledged.
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off"
        )
        log = str(self.folder / "server.log")
        self.run(program("pg_ctl"), "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends sessions and shuts down cleanly; `immediate` is a crash."""
        self.run(program("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    def set_next_transaction_id(self, transaction_id: int) -> None:
        """Restart with the transaction counter at `transaction_id` (an xid8: its high 32 bits
        are the counter's wraparound epoch). pg_resetwal needs a multiple of 2**20 below 2**32
        for the low bits, where PostgreSQL makes the commit log's new file itself."""
        epoch, xid = divmod(transaction_id, 2**32)
        assert xid % 2**20 == 0 and xid > 0, "pg_resetwal -x wants a multiple of 2**20"
        self.stop()
        self.run(program("pg_resetwal"), "-e", str(epoch), "-x", str(xid), "-D", str(self.data))
        self.start()

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        self.run(program("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                 name)  # fmt: skip
        return self.url(name)

    def copy_database_to(self, target: "Cluster", name: str) -> str:
        """`pg_dump | pg_restore` of database `name` into a new database of `target`, as a
        move to a new server does; the copy's URL. The dump is taken while the database
        serves: it holds what committed before it began."""
        dump = str(self.folder / f"{name}.dump")
        self.run(program("pg_dump"), "-Fc", "-f", dump, self.url(name))
        url = target.create_database(name)
        target.run(program("pg_restore"), "--exit-on-error", "-d", url, dump)
        return url

    def upgrade_to(self, target: "Cluster", link: bool = False) -> None:
        """pg_upgrade this cluster into `target`, a fresh one, copying its files (or hard
        linking them). Both are stopped for it; `target` is started after, this one stays
        stopped (after linking it must never start again)."""
        self.stop()
        target.stop()
        folder = str(Path(program("pg_upgrade")).parent)
        upgrade = subprocess.run(
            as_server_user([program("pg_upgrade"), *(["--link"] if link else []),
                            "-b", folder, "-B", folder,
                            "-d", str(self.data), "-D", str(target.data),
                            "-p", str(self.port), "-P", str(target.port), "-U", "postgres"]),
            cwd=target.folder, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
        target.start()


def new_cluster() -> Cluster:
    """A started cluster of its own; `remove()` it when done."""
    folder = Path(tempfile.mkdtemp(prefix="threadlog-cluster-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    cluster = Cluster(folder, free_port())
    cluster.init()
    cluster.start()
    return cluster


async def migrated_database(cluster: Cluster, name: str = "threadlog") -> str:
    """A new database on `cluster`, migrated to head; its URL."""
    admin = await asyncpg.connect(cluster.url())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = cluster.url(name)
    # Alembic runs an event loop of its own: keep it off the test's.
    await asyncio.to_thread(migrate.upgrade, url)
    return url
