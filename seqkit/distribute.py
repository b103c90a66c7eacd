"""Data-parallel training on `tf.distribute`: a strategy by name, the global batch, and the chief.

The strategies are TensorFlow's. On another backend `"none"` is a one-device
stand-in (so the recipes run unchanged on JAX), and data parallelism is Keras'
own `keras.distribution.DataParallel` (see the README's scaling section; JAX
shards every batch evenly, so it needs batches that divide among the devices,
which the recipes' length-bucketed and final partial batches do not).

Keras 3.15's TensorFlow trainer has two faults under `tf.distribute`, which
`get_strategy` mends once, for the strategies that need it:
- before building, it averages the first batch over the replicas; that fails
  when a batch splits unevenly (15 examples on 2 replicas: shapes [8, 9] and
  [7, 9]) and, on several workers, for any batch. It now builds from the local
  replica's batch (only shapes matter there).
- on several workers it averages each step's logs with
  `strategy.reduce("MEAN", ..., axis=0)`, and a scalar log has no axis 0
  (keras-team/keras#20585: Keras 3 cannot train under
  `MultiWorkerMirroredStrategy`). It now averages them with `axis=None`.
"""

import atexit
import contextlib
import json
import os
import shutil
import tempfile

import keras

STRATEGIES = ("none", "mirrored", "multi_worker")


class OneDevice:
    """The strategy of a run on one device off TensorFlow: one replica, an empty scope."""

    num_replicas_in_sync = 1

    def scope(self):
        return contextlib.nullcontext()


def get_strategy(name="none", devices=None):
    """A `tf.distribute.Strategy` for a name in `STRATEGIES`.

    - `"none"`: TensorFlow's default strategy, one device.
    - `"mirrored"`: `MirroredStrategy`, a replica per device of this machine:
      `devices` if given, else every GPU, else every logical CPU (one, unless
      split by `use_logical_cpus`).
    - `"multi_worker"`: `MultiWorkerMirroredStrategy`, the cluster and this
      process's task read from `TF_CONFIG`. Every worker runs the same command.

    Build and compile the model inside `strategy.scope()`, and batch the data by
    `global_batch_size(batch_size, strategy)`: Keras splits each batch among the
    replicas, so each replica's batch stays `batch_size` at any scale.

    Examples:
    >>> strategy = get_strategy("none")
    >>> strategy.num_replicas_in_sync, global_batch_size(32, strategy)
    (1, 32)
    """
    if name not in STRATEGIES:
        raise ValueError(f"`distribute` must be one of {STRATEGIES}. Received: {name!r}")
    if keras.backend.backend() != "tensorflow":
        if name == "none":
            return OneDevice()
        raise ValueError(
            f"`distribute={name!r}` uses tf.distribute and needs KERAS_BACKEND=tensorflow. On "
            f"{keras.backend.backend()!r}, set keras.distribution.DataParallel (see the README's scaling section)."
        )
    import tensorflow as tf

    if name == "none":
        return tf.distribute.get_strategy()
    _patch_keras_trainer()
    if name == "mirrored":
        if devices is None and not tf.config.list_logical_devices("GPU"):
            devices = [device.name for device in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    cluster = cluster_spec()
    if not cluster:
        raise ValueError(
            "`distribute='multi_worker'` needs TF_CONFIG, e.g. "
            '{"cluster": {"worker": ["host1:2222", "host2:2222"]}, "task": {"type": "worker", "index": 0}}. '
            f"Received: TF_CONFIG={os.environ.get('TF_CONFIG')!r}"
        )
    return tf.distribute.MultiWorkerMirroredStrategy()


def global_batch_size(batch_size, strategy):
    """The batch to feed `fit`: `batch_size` per replica, times the replicas in sync."""
    return int(batch_size) * strategy.num_replicas_in_sync


def cluster_spec():
    """`TF_CONFIG` as a dict (`{}` when unset), with a clear error when it is not JSON."""
    raw = os.environ.get("TF_CONFIG", "")
    if not raw.strip():
        return {}
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG must be JSON. Received: {raw!r} ({error})") from None
    if not isinstance(config, dict) or "cluster" not in config or "task" not in config:
        raise ValueError(f"TF_CONFIG must hold 'cluster' and 'task'. Received: {raw!r}")
    return config


def is_chief():
    """Whether this process writes the run's results: the `chief` task, or worker 0 when there is none.

    Examples:
    >>> is_chief()  # No TF_CONFIG: a single process is its own chief.
    True
    """
    config = cluster_spec()
    if not config:
        return True
    task = config["task"]
    if "chief" in config["cluster"]:
        return task.get("type") == "chief"
    return task.get("type") == "worker" and int(task.get("index", 0)) == 0


def worker_paths(*paths):
    """The run's output folders for this process: as given on the chief, scratch folders on other workers.

    Every worker runs the same code to the end (a distributed `fit` or
    `predict` needs all of them), but only the chief's files are kept: the
    others write under a temporary folder removed when the process exits, so no
    two processes write the same file.

    Examples:
    >>> worker_paths("runs/dates", "saved_models")  # The chief (no TF_CONFIG).
    ['runs/dates', 'saved_models']
    """
    if is_chief():
        return [os.fspath(path) for path in paths]
    scratch = tempfile.mkdtemp(prefix="seqkit-worker-")
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    return [os.path.join(scratch, f"output_{index}") for index in range(len(paths))]


def use_logical_cpus(count):
    """Splits the CPU into `count` logical devices, so `"mirrored"` can run (and be tested) on one CPU.

    Call it before TensorFlow touches a device. Each logical device is a replica
    of `MirroredStrategy(["/cpu:0", "/cpu:1", ...])`.
    """
    import tensorflow as tf

    if count < 1:
        raise ValueError(f"`count` must be >= 1. Received: count={count!r}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    return [f"/cpu:{index}" for index in range(count)]


_PATCHED = False


def _patch_keras_trainer():
    """The two mends in the module docstring, installed once; a no-op on a Keras without that code."""
    global _PATCHED
    if _PATCHED:
        return
    import tensorflow as tf
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer

    if not hasattr(trainer.TensorFlowTrainer, "_maybe_symbolic_build") or not hasattr(trainer, "reduce_per_replica"):
        _PATCHED = True  # A Keras whose trainer no longer has the code this fixes.
        return

    def local_value(value, strategy):
        return strategy.experimental_local_results(value)[0] if isinstance(value, tf.distribute.DistributedValues) else value

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if self._distribute_strategy is None:
            return
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = tree.map_structure(lambda value: local_value(value, self.distribute_strategy), next(batches))
                break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    keras_reduce = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction == "auto" and trainer._collective_all_reduce_multi_worker(strategy):
            return tree.map_structure(
                lambda value: strategy.reduce("MEAN", value, axis=None)
                if isinstance(value, tf.distribute.DistributedValues) else value,
                values,
            )
        return keras_reduce(values, strategy, reduction)

    trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build
    trainer.reduce_per_replica = reduce_per_replica
    _PATCHED = True
