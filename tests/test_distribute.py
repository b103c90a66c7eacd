"""Data-parallel training: MirroredStrategy against one device, and two workers under MultiWorkerMirroredStrategy."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

from conftest import REPO
from seqkit import distribute


def run_python(code, env=None, timeout=600):
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=timeout,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


# === Mirrored: the same trajectory as one device ===

# Trains a seqkit classifier for 3 epochs of SGD with a global batch of 16, on one device and then
# on two, in one process; prints both loss trajectories. SETUP runs first; PARALLEL is
# `(strategy, replicas, global batch)` for the second run.
TRAJECTORY = """
    import json
    import numpy as np
    import keras
    import seqkit
    from seqkit import distribute
    SETUP

    def train(strategy, batch):
        rng = np.random.default_rng(0)
        lengths = rng.integers(3, 12, size=96)
        ids = np.array([np.pad(rng.integers(1, 40, size=n), (0, 12 - n)) for n in lengths], "int32")
        labels = (ids[:, 0] > 20).astype("float32")
        with strategy.scope():
            keras.utils.set_random_seed(0)
            model = seqkit.build_classifier(40, units=8, embedding_dim=8, head_dropout=0.0)
            model.compile(optimizer=keras.optimizers.SGD(0.5), loss="binary_crossentropy")
        return model.fit(ids, labels, batch_size=batch, epochs=3, shuffle=False, verbose=0).history["loss"]

    single = train(distribute.get_strategy(), 16)
    strategy, replicas, batch = PARALLEL
    parallel = train(strategy, batch)
    print(json.dumps({"single": single, "parallel": parallel, "replicas": replicas}))
"""


def trajectories(setup, parallel, env=None):
    code = TRAJECTORY.replace("SETUP", setup).replace("PARALLEL", parallel)
    return json.loads(run_python(code, env).splitlines()[-1])


@pytest.mark.slow  # Default-run budget (10 min on 2 cores); `pytest -m slow` runs it.
def test_mirrored_over_two_cpus_follows_the_single_device_trajectory():
    result = trajectories(
        "devices = distribute.use_logical_cpus(2)",
        "(lambda s: (s, s.num_replicas_in_sync, distribute.global_batch_size(8, s)))"
        "(distribute.get_strategy('mirrored', devices))",
    )
    # 8 per replica on 2 replicas is the single device's batch of 16: the same updates.
    assert result["replicas"] == 2
    assert result["single"][0] > result["single"][-1]  # It trains.
    assert result["parallel"] == pytest.approx(result["single"], rel=1e-5)


@pytest.mark.slow  # A JAX subprocess over 2 CPU devices: ~25 s.
def test_on_jax_keras_data_parallel_follows_the_same_trajectory_and_get_strategy_says_where_to_look():
    # The README's scaling section: on JAX, Keras' own DataParallel over the local devices.
    pytest.importorskip("jax")
    env = {"KERAS_BACKEND": "jax", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    result = trajectories(
        "",
        "(keras.distribution.set_distribution(keras.distribution.DataParallel()),"
        " (distribute.get_strategy(), len(keras.distribution.distribution().device_mesh.devices), 16))[1]",
        env,
    )
    # The second run's batches of 16 were split over the two devices (the global batch stays 16).
    assert result["replicas"] == 2
    assert result["parallel"] == pytest.approx(result["single"], rel=1e-5)
    assert "set keras.distribution.DataParallel" in run_python(
        """
        from seqkit import distribute
        try:
            distribute.get_strategy("mirrored")
        except ValueError as error:
            print(error)
        """, env,
    )


# === Multi-worker: two local processes, TF_CONFIG, the chief exports ===


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


@pytest.mark.slow  # Two TensorFlow processes: ~45 s on 2 cores.
def test_two_workers_train_the_dates_quick_recipe_and_only_the_chief_writes(tmp_path):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    args = [
        "recipes/dates.py", "--quick", "--num-train=600", "--num-dev=64", "--num-test=32", "--epochs=2",
        "--units=16", "--embedding-dim=8", "--attention-units=16", "--num-plots=0", "--num-beams=1",
        "--distribute=multi_worker",
        f"--workdir={tmp_path / 'run'}", f"--export-dir={tmp_path / 'export'}",
    ]
    workers = {}
    for index in (1, 0):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        workers[index] = subprocess.Popen(
            [sys.executable, *args], cwd=REPO, env={**os.environ, "TF_CONFIG": tf_config},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
    outputs = {index: worker.communicate(timeout=600)[0] for index, worker in workers.items()}
    for index, worker in workers.items():
        assert worker.returncode == 0, outputs[index][-3000:]
    # The chief (worker 0) wrote the run and the export; worker 1 wrote only under its scratch folder.
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["config"]["distribute"] == "multi_worker"
    assert (tmp_path / "export" / "dates" / "1" / "saved_model.pb").is_file()
    assert sorted(os.listdir(tmp_path / "export" / "dates")) == ["1"]
    assert "seqkit-worker-" in outputs[1] and "seqkit-worker-" not in outputs[0]
    # Both workers took the same synchronized steps: their logged losses agree.
    losses = [[line.split("loss: ")[1].split(" ")[0] for line in output.splitlines() if " - loss: " in line]
              for output in outputs.values()]
    assert len(losses[0]) == 2 and losses[0] == losses[1]


# === Names, TF_CONFIG and the chief ===


def test_bad_names_and_cluster_configs_say_what_was_expected(monkeypatch):
    with pytest.raises(ValueError, match="must be one of.*Received: 'horovod'"):
        distribute.get_strategy("horovod")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="needs TF_CONFIG"):
        distribute.get_strategy("multi_worker")
    monkeypatch.setenv("TF_CONFIG", "{cluster: 1}")
    with pytest.raises(ValueError, match="TF_CONFIG must be JSON"):
        distribute.cluster_spec()
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {}}')
    with pytest.raises(ValueError, match="'cluster' and 'task'"):
        distribute.cluster_spec()


@pytest.mark.parametrize(
    "cluster,task,chief",
    [
        ({"worker": ["a:1", "b:1"]}, {"type": "worker", "index": 0}, True),
        ({"worker": ["a:1", "b:1"]}, {"type": "worker", "index": 1}, False),
        ({"chief": ["c:1"], "worker": ["a:1"]}, {"type": "worker", "index": 0}, False),
        ({"chief": ["c:1"], "worker": ["a:1"]}, {"type": "chief", "index": 0}, True),
    ],
)
def test_the_chief_writes_and_the_others_write_to_scratch(monkeypatch, cluster, task, chief):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
    assert distribute.is_chief() is chief
    paths = distribute.worker_paths("runs/x", "saved_models")
    if chief:
        assert paths == ["runs/x", "saved_models"]
    else:
        assert all("seqkit-worker-" in path for path in paths) and len(set(paths)) == 2


def test_recipes_reject_an_unknown_strategy(tmp_path):
    completed = subprocess.run(
        [sys.executable, "recipes/dates.py", "--quick", "--distribute=horovod", f"--workdir={tmp_path}"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 2
    assert "--distribute must be one of ('none', 'mirrored', 'multi_worker'). Received: 'horovod'" in completed.stderr


# === Every task recipe trains mirrored over two logical CPUs ===

RECIPE_ARGS = {
    "sentiment": ["--quick", "--quick-examples=400", "--epochs=1"],
    "ner": ["--quick", "--quick-sentences=200", "--epochs=1"],
    "textgen": ["--quick", "--quick-tokens=20000", "--epochs=1", "--sample-every=0"],
    "translate": ["--quick", "--max-pairs=1500", "--epochs=1", "--num-beams=2"],
    "dates": ["--quick", "--num-train=600", "--num-dev=64", "--num-test=32", "--epochs=1"],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RECIPE_ARGS))
def test_every_task_recipe_trains_mirrored_and_exports(name, shared_data, tmp_path):
    data = {"translate": [f"--data-dir={shared_data / 'anki-spa-eng'}"], "dates": []}.get(
        name, [f"--data-dir={shared_data}"]
    )
    args = [*RECIPE_ARGS[name], *data, "--distribute=mirrored", f"--workdir={tmp_path / 'run'}",
            f"--export-dir={tmp_path / 'export'}"]
    run_python(f"""
        import runpy, sys
        from seqkit import distribute
        distribute.use_logical_cpus(2)
        sys.argv = ["recipes/{name}.py", *{args!r}]
        try:
            runpy.run_path("recipes/{name}.py", run_name="__main__")
        except SystemExit as exit:
            assert exit.code in (0, None), exit.code
    """)
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["config"]["distribute"] == "mirrored"
    assert list((tmp_path / "export").glob("*/1/saved_model.pb"))
