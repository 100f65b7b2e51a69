"""The `threadlog` command as an operator runs it."""

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.builders import THREADLOG
from tests.builders import threadlog as run
from tests.conftest import with_database
from tests.waiting import free_port, wait_until_ready

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
    one_line_failure(bad, "--report-threshold=0 must be at least 1")
    assert "pydantic" not in bad.stderr
    unknown = run(database_url, "sites", "set", "no-such-site", "--premoderation", "all")
    assert unknown.returncode != 0 and "UnknownSite" in unknown.stderr


def test_sites_set_origins_replaces_the_allowed_origins(database_url: str) -> None:
    site = f"cli-{secrets.token_hex(3)}"
    assert (
        run(database_url, "sites", "create", site, "--origin", "https://a.example").returncode == 0
    )
    changed = run(
        database_url, "sites", "set-origins", site,
        "--origin", "HTTPS://Blog.Example:443", "--origin", "http://localhost:8000",
    )  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    assert (
        changed.stdout.strip() == f"site {site} allows https://blog.example http://localhost:8000"
    )
    shown = json.loads(run(database_url, "sites", "show", site).stdout)
    assert shown["origins"] == ["https://blog.example", "http://localhost:8000"]
    bad = run(database_url, "sites", "set-origins", site, "--origin", "https://blog.example/x")
    one_line_failure(bad, "https://blog.example/x", "without a path")
    unchanged = json.loads(run(database_url, "sites", "show", site).stdout)
    assert unchanged["origins"] == shown["origins"]
    cleared = run(database_url, "sites", "set-origins", site, "--no-origins")
    assert cleared.returncode == 0 and "allows no origin" in cleared.stdout
    assert json.loads(run(database_url, "sites", "show", site).stdout)["origins"] == []
    assert run(database_url, "sites", "set-origins", site).returncode == 2  # neither option
    unknown = run(database_url, "sites", "set-origins", "no-such-site", "--no-origins")
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


def test_keys_are_listed_and_revoked(database_url: str) -> None:
    site = f"cli-{secrets.token_hex(3)}"
    assert run(database_url, "sites", "create", site).returncode == 0
    key = run(database_url, "keys", "create", "--site", site, "--role", "moderator")
    key_id = key.stdout.splitlines()[-1].split("_")[1]
    listed = run(database_url, "keys", "list", "--site", site)
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split() == ["id", "site", "role", "created", "last", "used", "revoked"]
    assert row.split()[:3] == [key_id, site, "moderator"] and row.split()[-2:] == ["-", "-"]
    assert key.stdout.splitlines()[-1] not in listed.stdout  # never the secret

    revoked = run(database_url, "keys", "revoke", key_id)
    assert revoked.returncode == 0 and f"key {key_id} is revoked" in revoked.stdout
    shown = json.loads(run(database_url, "keys", "list", "--site", site, "--json").stdout)
    assert [k["id"] for k in shown] == [key_id] and shown[0]["revoked_at"] is not None
    assert run(database_url, "keys", "revoke", key_id).returncode == 0  # again: no change
    one_line_failure(run(database_url, "keys", "revoke", "000000000000"), "no key has the id")
    one_line_failure(run(database_url, "keys", "list", "--site", "no-such-site"), "UnknownSite")


def test_sites_are_listed_and_shown(database_url: str) -> None:
    site = f"cli-{secrets.token_hex(3)}"
    made = run(
        database_url, "sites", "create", site, "--title", "Shown",
        "--origin", "HTTPS://Blog.Example:443/", "--origin", "http://localhost:8000",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    run(database_url, "keys", "create", "--site", site, "--role", "publisher")
    listed = run(database_url, "sites", "list")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith(site + " "))
    assert "Shown" in row and "https://blog.example http://localhost:8000" in row
    shown = json.loads(run(database_url, "sites", "show", site).stdout)
    assert shown["site"] == site and shown["title"] == "Shown"
    assert shown["origins"] == ["https://blog.example", "http://localhost:8000"]
    assert shown["settings"]["premoderation"] == "off"
    assert shown["counts"] == {"posts": 0, "published_comments": 0, "held_comments": 0,
                               "active_keys": 1, "revoked_keys": 0, "webhooks": 0}  # fmt: skip
    one_line_failure(run(database_url, "sites", "show", "no-such-site"), "UnknownSite")


@pytest.mark.parametrize(
    ("origin", "says"),
    [
        ("blog.example", "needs the scheme http:// or https://"),
        ("ftp://blog.example", "needs the scheme"),
        ("https://blog.example/comments", "without a path"),
        ("https://blog.example?x=1", "without a path, query"),
        ("https://", "has no host"),
        ("https://user:pw@blog.example", "must not carry a user"),
        ("https://blog.example:99999", "is not a URL"),
    ],
)
def test_origins_are_checked(database_url: str, origin: str, says: str) -> None:
    site = f"cli-{secrets.token_hex(3)}"
    refused = run(database_url, "sites", "create", site, "--origin", origin)
    one_line_failure(refused, says, "e.g. https://blog.example")
    assert run(database_url, "sites", "show", site).returncode != 0  # nothing was created


def test_status_says_how_the_deployment_is(database_url: str) -> None:
    shown = run(database_url, "status")
    assert shown.returncode == 0, shown.stderr
    expected = ["database: reachable", "schema: ", "events: last position", "posts: ",
                "feed: held back", "webhooks: ", "relays: ", "rebuilds: none pending"]  # fmt: skip
    for line in expected:
        assert line in shown.stdout, shown.stdout
    report = json.loads(run(database_url, "status", "--json").stdout)
    assert report["schema"]["at_head"] is True
    assert report["events"]["last_position"] >= 0 and "estimated" in report["events"]
    assert set(report["feed"]) == {"held_back_seconds", "oldest_transaction"}
    assert isinstance(report["webhooks"], list) and isinstance(report["relays"], list)


def test_status_of_an_unmigrated_database_says_to_migrate(empty_database: str) -> None:
    shown = run(empty_database, "status")
    assert shown.returncode == 1
    assert "schema: not migrated" in shown.stdout and "threadlog migrate" in shown.stdout


COMMANDS = [
    ["serve"], ["migrate"], ["adopt-cluster"], ["rebuild"], ["status"],
    ["sites", "create"], ["sites", "list"], ["sites", "show"], ["sites", "set"],
    ["sites", "set-origins"],
    ["keys", "create"], ["keys", "list"], ["keys", "revoke"],
    ["relay", "nats"], ["webhooks", "dispatch"],
    ["import"], ["export"],
]  # fmt: skip


def test_every_command_explains_itself(database_url: str) -> None:
    version = run(database_url, "--version")
    assert version.returncode == 0 and re.fullmatch(r"threadlog \S+\n", version.stdout)
    for words in COMMANDS:
        helped = run(database_url, *words, "--help")
        assert helped.returncode == 0, (words, helped.stderr)
        assert "DATABASE_URL" in helped.stdout, (words, helped.stdout)
        assert re.search(r"example:\n  .*threadlog ", helped.stdout), (words, helped.stdout)


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("THREADLOG_PORT", "eighty", "THREADLOG_PORT=eighty is not a whole number"),
        ("THREADLOG_PORT", "70000", "THREADLOG_PORT=70000 must be at most 65535"),
        ("THREADLOG_WEBHOOK_SECRET_OVERLAP_HOURS", "-1", "must be at least 0"),
        ("THREADLOG_ANALYZE_SECONDS", "-1", "THREADLOG_ANALYZE_SECONDS=-1 must be at least 0"),
        ("THREADLOG_ANALYZE_SECONDS", "abc", "THREADLOG_ANALYZE_SECONDS=abc is not a number"),
        ("THREADLOG_UVLOOP", "perhaps", "THREADLOG_UVLOOP=perhaps is not true or false"),
        ("THREADLOG_LOG_LEVEL", "LOUD", "THREADLOG_LOG_LEVEL=LOUD is not DEBUG, INFO"),
    ],
)
def test_a_bad_setting_is_one_clear_line_and_exit_2(
    database_url: str, variable: str, value: str, says: str
) -> None:
    environment = os.environ | {"DATABASE_URL": database_url, variable: value}
    result = subprocess.run(
        [THREADLOG, "status"], env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    one_line_failure(result, says)
    assert "pydantic" not in result.stderr and "Input should" not in result.stderr
