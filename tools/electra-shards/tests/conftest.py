"""Fixtures: a shard directory and the electra-dev binary, from the environment that
tools/check-python-package.sh sets (ELECTRA_SHARDS_DATA, ELECTRA_DEV, ELECTRA_PREP, ELECTRA_TRAIN)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def _env_path(name: str) -> Path:
    value = os.environ.get(name)
    if not value:
        pytest.skip(f"{name} is not set (tools/check-python-package.sh sets it)")
    return Path(value)


@pytest.fixture(scope="session")
def shard_dir() -> Path:
    return _env_path("ELECTRA_SHARDS_DATA")


@pytest.fixture(scope="session")
def electra_dev() -> Path:
    return _env_path("ELECTRA_DEV")


@pytest.fixture(scope="session")
def electra_prep() -> Path:
    return _env_path("ELECTRA_PREP")


@pytest.fixture
def shard_copy(shard_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the shard directory, to damage."""
    out = tmp_path / "shards"
    shutil.copytree(shard_dir, out, ignore=shutil.ignore_patterns(".lock"))
    return out


def run(*args: object) -> str:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"{args[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout
