"""The `threadlog` command as an operator runs it."""

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.builders import THREADLOG
from tests.builders import threadlog as run
from tests.conftest import with_database

ROOT = Path(__file__).resolve().parents[2]


def test_sites_and_keys(database_url: str) -> None:
    site = f"cli-{secrets.token_hex(3)}"
    created = run(
        database_url, "sites", "create", site, "--title", "CLI", "--origin", "https://a.example"
    )
    assert created.returncode == 0, created.stderr
    again = run(database_url, "sites", "create", site)
    assert again.returncode != 0 and "SiteExists" in again.stderr
    for role in ("publisher", "moderator", "subscriber"):
        made = run(database_url, "keys", "create", "--site", site, "--role", role)
        assert made.returncode == 0, made.stderr
        assert re.fullmatch(r"tl_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", made.stdout.splitlines()[-1])
    unknown = run(database_url, "keys", "create", "--site", "no-such-site", "--role", "moderator")
    assert unknown.returncode != 0 and "UnknownSite" in unknown.stderr
    bad_role = run(database_url, "keys", "create", "--site", site, "--role", "admin")
    assert bad_role.returncode == 2


def test_migrate_and_rebuild(database_url: str) -> None:
    migrated = run(database_url, "migrate")
    assert migrated.returncode == 0 and "migrated to" in migrated.stdout
    rebuilt = run(database_url, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert re.search(r"rebuilt every read model from \d+ events", rebuilt.stdout)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_with_nothing_configured_runs_on_an_embedded_postgres() -> None:
    port = free_port()
    data_dir = ROOT / ".threadlog" / f"test-embedded-{secrets.token_hex(3)}"
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment |= {"THREADLOG_DATA_DIR": str(data_dir), "THREADLOG_PORT": str(port)}
    try:
        keys = []
        for _ in range(2):  # the second start prints the same key
            server = subprocess.Popen(
                [THREADLOG, "serve"],
                env=environment,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            try:
                lines = wait_for_line(server, "try:")
                # The key and the URLs are the last lines, after whatever PostgreSQL said.
                assert "moderator key" in lines[-5], lines
                key = lines[-4]
                assert re.fullmatch(r"tl_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", key), lines
                assert lines[-3].endswith("/admin") and lines[-2].endswith("/demo")
                assert not any("INFO" in line for line in lines), lines
                keys.append(key)
                wait_until_ready(port)
                try_url = lines[-1].rsplit(" ", 1)[-1]
                with urllib.request.urlopen(try_url, timeout=10) as response:
                    thread = json.load(response)
                assert thread["post"] == "hello-world"
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/v1/sites/demo/posts/first",
                    data=b'{"title": "First", "url": "https://demo.example/first"}',
                    headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                    method="PUT",
                )
                with urllib.request.urlopen(request, timeout=10) as response:
                    assert response.status in (200, 201)
            finally:
                server.send_signal(signal.SIGINT)
                server.wait(timeout=60)
                assert server.stdout is not None
                server.stdout.close()
        assert keys[0] == keys[1]
        assert (data_dir / "demo-moderator-key").stat().st_mode & 0o077 == 0
    finally:
        subprocess.run(["rm", "-rf", str(data_dir)], check=False)


def wait_for_line(server: subprocess.Popen[str], marker: str) -> list[str]:
    assert server.stdout is not None
    lines: list[str] = []
    for line in server.stdout:
        lines.append(line.rstrip("\n"))
        if marker in line:
            return lines
    raise AssertionError("the server exited early:\n" + "\n".join(lines))


def wait_until_ready(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the service never became ready")


def test_sites_set_changes_moderation_settings(database_url: str) -> None:
    site = f"cli-{secrets.token_hex(3)}"
    assert run(database_url, "sites", "create", site).returncode == 0
    changed = run(
        database_url, "sites", "set", site, "--premoderation", "first-time",
        "--banned-word", "spam*", "--banned-word", "scam", "--rate-limit", "0",
        "--close-after-days", "30",
    )  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    shown = json.loads(changed.stdout.split(": ", 1)[1])
    assert shown["premoderation"] == "first-time"
    assert shown["banned_words"] == ["spam*", "scam"]
    assert shown["rate_limit_per_minute"] == 0 and shown["close_after_days"] == 30
    cleared = run(database_url, "sites", "set", site, "--no-banned-words")
    assert json.loads(cleared.stdout.split(": ", 1)[1])["banned_words"] == []
    bad = run(database_url, "sites", "set", site, "--report-threshold", "0")
    assert bad.returncode != 0 and "report_threshold" in bad.stderr
    unknown = run(database_url, "sites", "set", "no-such-site", "--premoderation", "all")
    assert unknown.returncode != 0 and "UnknownSite" in unknown.stderr


def one_line_failure(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Failed, saying so in one line (what is wrong, what to do), without a traceback."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("threadlog: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def as_user(database_url: str, user: str) -> str:
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(netloc=f"{user}@{parts.hostname}:{parts.port}"))


@pytest.mark.parametrize(
    "command", [["sites", "create", "x"], ["migrate"], ["serve", "--port", "0"]]
)
def test_a_wrong_database_url_is_said_in_one_line(database_url: str, command: list[str]) -> None:
    nobody = as_user(database_url, "no_such_role_tl")
    cases = {
        f"postgresql://postgres:secret@127.0.0.1:{free_port()}/x": (
            "is PostgreSQL running there? check DATABASE_URL",
            "postgres:***@",
        ),
        with_database(database_url, "no_such_database_tl"): (
            'database "no_such_database_tl" does not exist',
            "run `threadlog migrate`",
        ),
        nobody: ('role "no_such_role_tl" does not exist', "check the user in DATABASE_URL"),
        "mysql://x@db.example/threadlog": ("DATABASE_URL", "postgresql://"),
    }
    for url, fragments in cases.items():
        one_line_failure(run(url, *command), *fragments)


def test_an_unmigrated_database_says_to_migrate(empty_database: str) -> None:
    for command in (["sites", "create", "x"], ["serve", "--port", "0"]):
        one_line_failure(run(empty_database, *command), "run `threadlog migrate`")
    migrated = run(empty_database, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert run(empty_database, "sites", "create", "x").returncode == 0


def test_a_port_in_use_is_said_before_anything_starts(database_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        one_line_failure(run(database_url, "serve", "--port", port), f"127.0.0.1:{port}", "--port")
        # With nothing configured, serve would start an embedded PostgreSQL and print a new
        # moderator key: it checks the port first.
        data_dir = ROOT / ".threadlog" / f"test-port-{secrets.token_hex(3)}"
        environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        embedded = subprocess.run(
            [THREADLOG, "serve", "--port", port],
            env=environment | {"THREADLOG_DATA_DIR": str(data_dir)},
            capture_output=True,
            text=True,
            timeout=120,
        )
    one_line_failure(embedded, "the port is in use")
    assert embedded.stdout == "" and not data_dir.exists()
