"""A plain (non-editable) install ships the migrations and openapi.yaml: `threadlog migrate`
works from any folder. The wheel is built and installed without the network, into a virtualenv
of its own that borrows this one's dependencies."""

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from service.ops.migrate import head_revision

ROOT = Path(__file__).resolve().parents[2]


def run(*command: str | Path, **options: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=300, **options
    )  # type: ignore[call-overload]
    assert result.returncode == 0, result.stderr
    return result


def test_a_plain_install_migrates_from_any_folder(empty_database: str, tmp_path: Path) -> None:
    # Built from a copy, so the checkout gets no build/ or egg-info from it.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "openapi.yaml"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("service", "migrations"):
        shutil.copytree(
            ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    wheels = tmp_path / "wheels"
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
        "-w", wheels, source)  # fmt: skip
    [wheel] = wheels.glob("threadlog-*.whl")

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    python, threadlog = venv / "bin" / "python", venv / "bin" / "threadlog"
    run(python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel)
    # The dependencies come from this virtualenv, after the new one's own packages.
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
    Path(purelib.stdout.strip(), "borrowed.pth").write_text(sysconfig.get_path("purelib") + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    installed = run(python, "-c", "import service; print(service.__file__)", cwd=elsewhere)
    assert installed.stdout.startswith(str(venv))
    migrated = run(threadlog, "migrate", cwd=elsewhere, env={"DATABASE_URL": empty_database})
    assert migrated.stdout.strip() == f"migrated to {head_revision()}"
    # The contract it serves at /openapi.yaml is installed with it too.
    served = run(
        python,
        "-c",
        "from service.http.contract import openapi_document as d; print(len(d()))",
        cwd=elsewhere,
    )
    assert int(served.stdout) == len((ROOT / "openapi.yaml").read_bytes())
    # So are the mail templates.
    templates = run(
        python,
        "-c",
        "from service.subscriptions.mail.templates import BUILT_IN as b; "
        "print(sorted(p.name for p in (b / 'nl').iterdir()))",
        cwd=elsewhere,
    )
    assert "confirm.txt" in templates.stdout and "held.html" in templates.stdout
