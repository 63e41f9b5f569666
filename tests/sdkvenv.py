"""Provider SDKs in virtual environments of their own, for tests that run the real client against our servers.

Some SDKs pin dependencies that clash with ours (capella-console-client wants httpx < 0.28), so they get a venv
each, created once under ``$STAC_BRIDGE_HOME/test-venvs/`` from the package registry and reused after. The
test runs the SDK in a subprocess with a script and reads its JSON answer.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import venv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
_OK = ".installed"


def sdk_python(name: str, requirements: Sequence[str]) -> Path:
    """The Python of a venv holding ``requirements``; created and installed on first use.

    ``<NAME>_PYTHON`` (``name`` upper-cased, ``-`` as ``_``) in the environment points at an existing Python
    instead. The test is skipped, saying why, when the packages cannot be installed (no package index).
    """
    override = os.environ.get(f"{name.upper().replace('-', '_')}_PYTHON")
    if override:
        return Path(override)
    home = Path(os.environ.get("STAC_BRIDGE_HOME", ROOT / ".stac-bridge"))
    digest = hashlib.sha256("\n".join(sorted(requirements)).encode()).hexdigest()[:10]
    where = home / "test-venvs" / f"{name}-{digest}"
    python = where / "bin" / "python"
    where.parent.mkdir(parents=True, exist_ok=True)
    with open(where.parent / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test runs wait for one install
        if not (where / _OK).exists():
            venv.EnvBuilder(with_pip=True, clear=True).create(where)
            install = subprocess.run(
                [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
                capture_output=True, text=True, timeout=900,
            )
            if install.returncode != 0:
                pytest.skip(f"could not install {' '.join(requirements)}: {install.stderr.strip()[-600:]}")
            (where / _OK).touch()
    return python


def run_sdk(python: Path, script: str, *args: str, env: dict[str, str] | None = None, timeout: float = 300) -> Any:
    """Run ``script`` with the SDK's Python; it prints one JSON document last, which is returned.

    Fails the test with the script's stderr when it exits non-zero.
    """
    done = subprocess.run(
        [str(python), "-c", script, *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if done.returncode != 0:
        pytest.fail(f"the SDK script failed ({done.returncode}):\n{done.stderr[-4000:]}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if not lines:
        pytest.fail(f"the SDK script printed nothing; stderr:\n{done.stderr[-4000:]}")
    return json.loads(lines[-1])


__all__ = ["run_sdk", "sdk_python"]
