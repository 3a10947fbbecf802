"""Mirror the Dockerfile without a Docker engine: copy what it COPYs, install, run its CMD.

Catches what an image build would: a file the package needs at run time that the
COPY lines or the package data leave out.
"""

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _dockerfile() -> list[list[str]]:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    return [shlex.split(line) for line in lines if line and not line.startswith("#")]


def test_dockerfile_runs_as_non_root_with_csbridge_entrypoint():
    steps = _dockerfile()
    assert ["USER", "csbridge"] in steps
    assert any(s[0] == "ENTRYPOINT" and "csbridge" in " ".join(s) for s in steps)


def test_image_steps_install_and_run_the_demo(tmp_path):
    context = tmp_path / "src"
    context.mkdir()
    for step in _dockerfile():
        if step[0] != "COPY":
            continue
        *sources, dest = step[1:]
        for src in sources:
            target = context / (Path(dest) / src if dest.endswith("/") else Path(dest))
            if (ROOT / src).is_dir():
                shutil.copytree(ROOT / src, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(ROOT / src, target)
    site = tmp_path / "site"
    # `pip install .` as in the image; dependencies come from this environment.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(context),
        ],
        check=True,
    )
    shutil.rmtree(context)  # the image deletes its build context: nothing may point back at it
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from csbridge.cli import main; "
            "sys.exit(main(['demo', '--accounts', '20']))",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "20 accounts scored" in run.stdout and "All writes landed." in run.stdout
    check = subprocess.run(
        [sys.executable, "-c", "import csbridge; print(csbridge.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout.startswith(str(site))


def test_image_installs_the_sandbox_extra_its_demo_needs():
    steps = _dockerfile()
    installs = [" ".join(s) for s in steps if s[0] == "RUN" and "pip install" in " ".join(s)]
    assert any("sandbox" in line for line in installs), installs
