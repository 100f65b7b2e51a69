"""The README's "Try it" block runs, as written, against a fresh demo: the same lines with
bash and curl, only the address changed to a free port."""

import asyncio
import os
import re
import subprocess
import urllib.request
from pathlib import Path

from service.cli.serving import prepare_demo
from service.ops.demo import DEMO_POST, DEMO_SITE
from tests.builders import THREADLOG
from tests.waiting import free_port, wait_until_ready

ROOT = Path(__file__).resolve().parents[2]
# Every curl of the block fails the script on a 4xx or 5xx, and ends its output with a newline.
STRICT = """set -euo pipefail
curl() { command curl -sS --fail-with-body "$@" && echo; }
"""


def try_it_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Try it\n") :]
    found = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert found is not None
    return found.group(1)


def post_comment(port: int, body: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/sites/{DEMO_SITE}/posts/{DEMO_POST}/comments",
        data=f'{{"author": {{"name": "Page"}}, "body": "{body}"}}'.encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        status: int = response.status
        return status


async def test_the_try_it_block_runs_as_written(database_url: str, tmp_path: Path) -> None:
    # What `serve` does for its demo on an embedded PostgreSQL, here on the test database.
    key = await prepare_demo(database_url, [], None)
    (tmp_path / ".threadlog").mkdir()
    (tmp_path / ".threadlog" / "demo-moderator-key").write_text(key + "\n")
    result = await asyncio.to_thread(run_try_it, database_url, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout
    assert '"title":"My first post"' in output
    assert "<em>Nice</em>" in output and '"delete_token"' in output
    assert '"labels"' in output and '"counts"' in output


def run_try_it(database_url: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """Serve the test database, post from the demo page's address, then run the block."""
    port = free_port()
    environment = os.environ | {
        "DATABASE_URL": database_url,
        "THREADLOG_PORT": str(port),
        "THREADLOG_WEBHOOKS_DISPATCH": "false",
    }
    environment.pop("THREADLOG_DEFAULT_RATE_LIMIT_PER_MINUTE", None)  # the server's default
    server = subprocess.Popen(
        [THREADLOG, "serve"], env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_until_ready(port)
        # Someone tried the demo page first, from the same address.
        for number in range(5):
            assert post_comment(port, f"from the page {number}") == 201
        script = STRICT + try_it_block().replace("localhost:8080", f"127.0.0.1:{port}")
        return subprocess.run(
            ["bash", "-c", script], cwd=folder, capture_output=True, text=True, timeout=60
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
        assert server.stderr is not None
        server.stderr.close()
