"""Shared test set-up: the backend, quiet logs, and the real datasets under ../shared/data."""

import importlib.util
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


def pytest_collection_modifyitems(config, items):
    """Tests marked `slow` run only when asked for (`pytest -m slow`), never in the default run."""
    if "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with `pytest -m slow`")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def load_recipe(name):
    """`recipes/<name>.py` as a module (recipes are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"{name}_recipe", REPO / "recipes" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
