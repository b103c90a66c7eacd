"""Shared test set-up: the backend, quiet logs, and the real datasets under ../shared/data."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
_SHARED = REPO.parent / "shared" / "data"
if "SEQKIT_DATA_DIR" not in os.environ and _SHARED.is_dir():
    os.environ["SEQKIT_DATA_DIR"] = str(_SHARED)
if os.environ.get("SEQKIT_DATA_DIR"):
    # Absolute, so subprocesses started from another folder find the data too.
    os.environ["SEQKIT_DATA_DIR"] = str(Path(os.environ["SEQKIT_DATA_DIR"]).resolve())


@pytest.fixture(scope="session")
def shared_data():
    """The folder of real datasets; tests that need it skip when it is missing."""
    path = Path(os.environ.get("SEQKIT_DATA_DIR", _SHARED))
    if not path.is_dir():
        pytest.skip(f"real datasets not found at {path} (set SEQKIT_DATA_DIR)")
    return path
