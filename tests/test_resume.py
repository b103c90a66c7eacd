"""A recipe killed with SIGKILL mid-epoch, restarted with the same command, ends like an uninterrupted run."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO

# The dates recipe at a size where an epoch takes a few seconds on 2 CPU cores.
ARGS = ["recipes/dates.py", "--quick", "--num-train=1200", "--num-dev=64", "--num-test=100", "--epochs=4",
        "--units=16", "--embedding-dim=8", "--attention-units=16", "--batch-size=32", "--num-plots=0",
        "--num-beams=1", "--no-export", "--seed=1"]


def command(workdir):
    return [sys.executable, *ARGS, f"--workdir={workdir}"]


def logged_epochs(workdir):
    path = workdir / "log.csv"
    if not path.exists():
        return []
    with open(path, newline="") as file:
        return [row for row in csv.DictReader(file)]


@pytest.mark.slow  # About a minute or more on 2 cores; `pytest -m slow` runs it.
def test_a_killed_recipe_resumes_from_its_backup_and_finishes_with_the_same_metrics(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    straight = subprocess.run(command(tmp_path / "straight"), cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=600)
    assert straight.returncode == 0, straight.stderr[-3000:]

    workdir = tmp_path / "killed"
    process = subprocess.Popen(command(workdir), cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while len(logged_epochs(workdir)) < 2 and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    time.sleep(0.5)  # Into the third epoch.
    assert process.poll() is None, "the run ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert not (workdir / "metrics.json").exists()
    assert (workdir / "backup" / "training_metadata.json").exists()
    killed_after = len(logged_epochs(workdir))
    assert killed_after in (2, 3)

    resumed = subprocess.run(command(workdir), cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"workdir: {workdir}" in resumed.stdout  # The same folder, resumed in place.
    first = json.loads((tmp_path / "straight" / "metrics.json").read_text())
    second = json.loads((workdir / "metrics.json").read_text())
    assert second["epochs_run"] == first["epochs_run"] == 4
    assert [int(row["epoch"]) for row in logged_epochs(workdir)] == [0, 1, 2, 3][: killed_after] + list(
        range(killed_after, 4))
    # Epochs before the kill are the same computation; later ones see the same weights, optimizer state and
    # callback state but a different shuffle of the pairs, so they agree within tolerance.
    for key in ("loss", "val_loss"):
        assert len(second["history"][key]) == 4
        assert abs(second["history"][key][0] - first["history"][key][0]) < 1e-4, key
        assert abs(second["history"][key][-1] - first["history"][key][-1]) < 0.1 * first["history"][key][-1], key
    assert abs(second["character_accuracy"] - first["character_accuracy"]) < 0.05, (first, second)
    assert not (workdir / "backup").exists()
