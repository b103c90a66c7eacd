"""Training helpers: seeds, atomic best-checkpoints, the standard callback set, and
callbacks for time budgets, stateful models and generation samples."""

import contextlib
import csv
import json
import math
import os
import time
from pathlib import Path

import keras

from seqkit.utils import atomic_write_text, save_model_atomic


def set_seed(seed):
    """Seeds Python, NumPy and the backend, so a run can be repeated."""
    keras.utils.set_random_seed(int(seed))


PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


@contextlib.contextmanager
def precision(policy="float32"):
    """Builds models under a Keras dtype policy, then restores the previous global one.

    `"mixed_float16"` computes in float16 with float32 weights (GPUs with
    tensor cores; `compile` then scales the loss), `"mixed_bfloat16"` in
    bfloat16 (TPUs, recent CPUs and GPUs). The builders keep their output layers
    in float32 (`seqkit.utils.output_dtype`). Build and compile inside the
    block; the layers keep their policy after it.

    Example:
    >>> import keras
    >>> with precision("mixed_bfloat16"):
    ...     layer = keras.layers.Dense(2)
    >>> layer.compute_dtype, layer.variable_dtype, keras.config.dtype_policy().name
    ('bfloat16', 'float32', 'float32')
    """
    if policy not in PRECISIONS:
        raise ValueError(f"`precision` must be one of {PRECISIONS}. Received: {policy!r}")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def monitor_mode(monitor, mode="auto"):
    """`"max"` for accuracy-like quantities (acc, auc, f1, precision, recall), else `"min"`, unless given."""
    if mode == "auto":
        mode = "max" if any(word in monitor for word in ("acc", "auc", "f1", "precision", "recall")) else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"`mode` must be 'min', 'max' or 'auto'. Received: mode={mode!r}")
    return mode


class BestModelCheckpoint(keras.callbacks.Callback):
    """Saves the model to a `.keras` file whenever `monitor` improves, atomically.

    Unlike `keras.callbacks.ModelCheckpoint`, a kill mid-save never leaves a
    truncated file: the model is written to a temporary file and renamed.

    Args:
        filepath: the `.keras` file to write.
        monitor: the logged quantity to watch, e.g. `"val_loss"`.
        mode: `"min"`, `"max"`, or `"auto"` (max for accuracy-like names).
    """

    def __init__(self, filepath, monitor="val_loss", mode="auto", state_path=None):
        super().__init__()
        if not str(filepath).endswith(".keras"):
            raise ValueError(f"`filepath` must end in '.keras'. Received: filepath={filepath!r}")
        mode = monitor_mode(monitor, mode)
        self.filepath = Path(filepath)
        self.monitor = monitor
        self.mode = mode
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = None
        self.state_path = state_path

    def on_train_begin(self, logs=None):
        state = _read_state(self.state_path)
        if state and self.filepath.exists():  # Resuming: the best so far stays the one to beat.
            self.best, self.best_epoch = state["best"], state["best_epoch"]

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        improved = value < self.best if self.mode == "min" else value > self.best
        if improved:
            self.best, self.best_epoch = float(value), epoch
            save_model_atomic(self.model, self.filepath)
        _write_state(self.state_path, {"best": self.best, "best_epoch": self.best_epoch})


def _read_state(path):
    if path is None or not Path(path).exists():
        return None
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _write_state(path, state):
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(state, default=float))


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """`keras.callbacks.EarlyStopping` whose counters survive a killed process.

    Keras' `BackupAndRestore` brings back the weights, the optimizer and the epoch,
    but early stopping would start counting afresh (and forget the best weights).
    This one writes `wait`, `best` and `best_epoch` to `state_path` after every
    epoch and reads them back when training begins again; the best weights come
    back from `best_model_path` (the run's best checkpoint).
    """

    def __init__(self, state_path=None, best_model_path=None, **kwargs):
        super().__init__(**kwargs)
        self.state_path = state_path
        self.best_model_path = best_model_path

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        state = _read_state(self.state_path)
        if not state:
            return
        self.wait, self.best, self.best_epoch = state["wait"], state["best"], state["best_epoch"]
        if self.restore_best_weights and self.best_model_path and Path(self.best_model_path).exists():
            self.best_weights = keras.saving.load_model(self.best_model_path, compile=False).get_weights()

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        best = None if self.best is None else float(self.best)
        _write_state(self.state_path, {"wait": self.wait, "best": best, "best_epoch": self.best_epoch})


class ResumableReduceLROnPlateau(keras.callbacks.ReduceLROnPlateau):
    """`keras.callbacks.ReduceLROnPlateau` whose counters survive a killed process (the rate itself is an
    optimizer variable, which `BackupAndRestore` restores)."""

    def __init__(self, state_path=None, **kwargs):
        super().__init__(**kwargs)
        self.state_path = state_path

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        state = _read_state(self.state_path)
        if state:
            self.wait, self.best, self.cooldown_counter = state["wait"], state["best"], state["cooldown_counter"]

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        best = None if self.best is None else float(self.best)
        _write_state(self.state_path, {"wait": self.wait, "best": best, "cooldown_counter": self.cooldown_counter})


def resolve_workdir(path, finished_marker="metrics.json"):
    """The run folder to use for `path`: itself, unless it holds a finished run.

    An interrupted run (no `finished_marker` yet) is resumed in place. A finished
    run is never overwritten: the next free `path-2`, `path-3`, ... is used.
    """
    path = Path(os.fspath(path))
    candidate, number = path, 1
    while (candidate / finished_marker).exists():
        number += 1
        candidate = path.with_name(f"{path.name}-{number}")
    return candidate


def run_history(workdir, history):
    """The whole run's per-epoch logs and its number of epochs, across resumes: `(logs, epochs_run)`.

    After a resume, `model.fit`'s `History` holds only the epochs this process ran
    (`history.epoch` starts where the backup left off); the earlier ones come from
    the run's `log.csv` (the last row written for each epoch).
    """
    logs = {key: [float(v) for v in values] for key, values in history.history.items()}
    first = history.epoch[0] if history.epoch else 0
    path = Path(os.fspath(workdir)) / "log.csv"
    if first == 0 or not path.exists():
        return logs, (history.epoch[-1] + 1 if history.epoch else 0)
    earlier = {}
    with open(path, newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            if row.get("epoch", "").isdigit() and int(row["epoch"]) < first:
                earlier[int(row["epoch"])] = row
    if sorted(earlier) != list(range(first)):
        return logs, history.epoch[-1] + 1  # The log lacks epochs: keep what this process saw.
    merged = {key: [float(earlier[e].get(key) or "nan") for e in range(first)] + values for key, values in logs.items()}
    return merged, history.epoch[-1] + 1


def refit_schedule(history, monitor, mode="auto", learning_rate=None):
    """The epochs and per-epoch learning rates of a run up to its best epoch on `monitor`: `(epochs, rates)`.

    For a final fit on the training and held-out data together (the held-out
    set then has nothing left to stop on): train a fresh model for `epochs`
    epochs with `keras.callbacks.LearningRateScheduler(lambda epoch: rates[epoch])`,
    replaying the run's decays. `history` is `History.history` or `run_history`'s
    logs, with `monitor` and `"learning_rate"` (the rate each epoch trained at,
    which `ReduceLROnPlateau` logs); a run without decays may give its constant
    `learning_rate` instead.

    >>> refit_schedule({"val_f1": [0.5, 0.7, 0.6], "learning_rate": [0.01, 0.005, 0.005]}, "val_f1")
    (2, [0.01, 0.005])
    """
    if not history.get(monitor):
        raise ValueError(f"`history` needs per-epoch {monitor!r} values. Received keys: {sorted(history)}")
    values = [float(value) for value in history[monitor]]
    best = (max if monitor_mode(monitor, mode) == "max" else min)(range(len(values)), key=values.__getitem__)
    if history.get("learning_rate"):
        return best + 1, [float(rate) for rate in history["learning_rate"][: best + 1]]
    if learning_rate is None:
        raise ValueError(
            "`history` has no per-epoch 'learning_rate' values: pass the run's constant `learning_rate`. "
            f"Received keys: {sorted(history)}"
        )
    return best + 1, [float(learning_rate)] * (best + 1)


def record_config(workdir, config):
    """Writes the run's full `config` (a recipe's dataclass) to `<workdir>/config.json`, atomically.

    `python recipes/<name>.py --config=<workdir>/config.json` (or `seqkit train
    <name> --config=...`) then runs the same experiment again.
    """
    from seqkit.config import config_to_json
    from seqkit.utils import atomic_write_text

    workdir = Path(os.fspath(workdir))
    workdir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(workdir / "config.json", config_to_json(config))
    return workdir / "config.json"


def training_callbacks(
    workdir,
    monitor="val_loss",
    patience=3,
    min_delta=0.0,
    reduce_lr_patience=0,
    reduce_lr_factor=0.5,
    backup=True,
    csv_log=True,
    tensorboard=False,
):
    """The standard set: early stopping, best checkpoint, resume, and logs.

    Args:
        workdir: the run folder; it receives `best.keras`, `backup/`, `log.csv`
            and `tensorboard/`.
        monitor: the held-out quantity that early stopping and checkpoints watch.
        patience: epochs without improvement before stopping (0 disables early stopping).
        min_delta: the smallest change of `monitor` that counts as an improvement,
            for early stopping and the learning-rate decay (a converged model's
            loss can keep creeping down by 1e-7 an epoch).
        reduce_lr_patience: epochs without improvement before the learning rate is
            multiplied by `reduce_lr_factor` (0 disables the decay). Set it below
            `patience`, so that a stalled run first tries a smaller step.
        reduce_lr_factor: the decay factor, in (0, 1).
        backup: resume after an interruption with `keras.callbacks.BackupAndRestore`.
        csv_log: append per-epoch metrics to `log.csv`.
        tensorboard: write TensorBoard logs.
    """
    if not 0.0 < reduce_lr_factor < 1.0:
        raise ValueError(f"Expected `reduce_lr_factor` in (0, 1). Received: reduce_lr_factor={reduce_lr_factor}")
    workdir = Path(os.fspath(workdir))
    workdir.mkdir(parents=True, exist_ok=True)
    # The callbacks' own state lives beside BackupAndRestore's: both are read back only
    # when a killed run resumes, and both are removed once training ends.
    state = workdir / "backup" if backup else None

    def state_path(name):
        return state / name if state else None

    callbacks = [BestModelCheckpoint(workdir / "best.keras", monitor=monitor, state_path=state_path("checkpoint.json"))]
    if reduce_lr_patience:
        callbacks.append(
            ResumableReduceLROnPlateau(
                state_path=state_path("reduce_lr.json"), monitor=monitor, mode=monitor_mode(monitor),
                factor=reduce_lr_factor, patience=reduce_lr_patience, min_delta=min_delta, verbose=1,
            )
        )
    if patience:
        callbacks.append(
            ResumableEarlyStopping(
                state_path=state_path("early_stopping.json"), best_model_path=workdir / "best.keras",
                monitor=monitor, mode=monitor_mode(monitor), patience=patience, min_delta=min_delta,
                restore_best_weights=True, verbose=1,
            )
        )
    if csv_log:  # Before the backup: a kill between the two leaves a row that the resumed epoch rewrites.
        callbacks.append(keras.callbacks.CSVLogger(str(workdir / "log.csv"), append=True))
    if backup:
        callbacks.append(keras.callbacks.BackupAndRestore(backup_dir=str(workdir / "backup")))
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(workdir / "tensorboard")))
    return callbacks


class EntityF1(keras.callbacks.Callback):
    """Adds held-out entity F1 (`val_f1`) to the epoch logs of a tagger.

    Place it before `training_callbacks(..., monitor="val_f1")` in the callback
    list, so early stopping and checkpoints see the value.

    Args:
        inputs: the held-out features, a dict of padded arrays (see `TagFeaturizer`).
        tags: the held-out gold tags, lists of BIO tag names.
        tag_names: the tag of each tag id.
        scheme: the model's tag scheme, `"bio"` or `"bioes"` (predictions are
            converted to BIO to be scored).
        prefix: the log key prefix.
    """

    def __init__(self, inputs, tags, tag_names, scheme="bio", prefix="val"):
        super().__init__()
        self.inputs = inputs
        self.tags = tags
        self.tag_names = list(tag_names)
        self.scheme = scheme
        self.prefix = prefix

    def on_epoch_end(self, epoch, logs=None):
        from seqkit.metrics import entity_scores
        from seqkit.models.tagger import predict_tag_names

        predicted = predict_tag_names(self.model, self.inputs, [len(row) for row in self.tags], self.tag_names, self.scheme)
        scores = entity_scores(self.tags, predicted)
        if logs is not None:
            logs[f"{self.prefix}_f1"] = scores["f1"]
            logs[f"{self.prefix}_token_accuracy"] = scores["token_accuracy"]


class TimeBudget(keras.callbacks.Callback):
    """Stops training once `minutes` of it have passed (checked after every batch).

    The epoch in progress ends early but is still validated, so early stopping
    and best-checkpoint callbacks see it.

    With `anneal_to`, the learning rate also follows a cosine over the budget,
    from the optimizer's learning rate at the start of training down to
    `anneal_to` times that at the end, so a run that knows its length ends on
    small steps (nanoGPT decays this way; on tiny-shakespeare it trailed a
    constant rate after 2 M characters, see benchmarks/README.md). With
    `anneal_over` < 1 the rate stays constant and the cosine takes only that
    final share of the budget (a warmup-stable-decay schedule without the
    warmup). It replaces `ReduceLROnPlateau`; do not use both.

    Example:
    >>> budget = TimeBudget(45, anneal_to=0.1)
    >>> round(budget.learning_rate_factor(0.5), 4), budget.learning_rate_factor(1.0)
    (0.55, 0.1)
    >>> late = TimeBudget(45, anneal_to=0.1, anneal_over=0.25)
    >>> late.learning_rate_factor(0.75), round(late.learning_rate_factor(0.875), 4)
    (1.0, 0.55)
    """

    def __init__(self, minutes, anneal_to=None, anneal_over=1.0):
        super().__init__()
        if minutes <= 0:
            raise ValueError(f"`minutes` must be > 0. Received: minutes={minutes!r}")
        if anneal_to is not None and not 0.0 <= anneal_to <= 1.0:
            raise ValueError(f"`anneal_to` must be in [0, 1] or None. Received: anneal_to={anneal_to!r}")
        if not 0.0 < anneal_over <= 1.0:
            raise ValueError(f"`anneal_over` must be in (0, 1]. Received: anneal_over={anneal_over!r}")
        self.minutes = float(minutes)
        self.anneal_to = anneal_to
        self.anneal_over = float(anneal_over)
        self.stopped = False
        self._clock = time.monotonic  # Replaced by a fake clock in tests.

    def learning_rate_factor(self, progress):
        """The learning-rate multiplier after `progress` (0 to 1) of the budget."""
        progress = min(max(float(progress), 0.0), 1.0)
        decay = max(0.0, progress - (1.0 - self.anneal_over)) / self.anneal_over
        return self.anneal_to + (1.0 - self.anneal_to) * 0.5 * (1.0 + math.cos(math.pi * decay))

    def on_train_begin(self, logs=None):
        self._start = self._clock()
        if self.anneal_to is not None:
            self._peak_learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_train_batch_end(self, batch, logs=None):
        progress = (self._clock() - self._start) / (60.0 * self.minutes)
        if self.anneal_to is not None:
            self.model.optimizer.learning_rate = self._peak_learning_rate * self.learning_rate_factor(progress)
        if progress >= 1.0:
            self.stopped = True
            self.model.stop_training = True


class GenerationSamples(keras.callbacks.Callback):
    """Prints text sampled from a language model at several temperatures, every few epochs.

    Args:
        vocabulary: the training `Vocabulary`.
        level: `"char"` or `"word"`.
        prompt: the text to continue ("" starts from nothing).
        temperatures: one sample per temperature.
        max_new_tokens: the length of each sample.
        every: print every this many epochs.
        seed: the sampler's seed (samples are comparable across epochs).
    """

    def __init__(self, vocabulary, level, prompt="", temperatures=(0.5, 0.8, 1.0), max_new_tokens=200, every=1, seed=0):
        super().__init__()
        self.vocabulary = vocabulary
        self.level = level
        self.prompt = prompt
        self.temperatures = tuple(temperatures)
        self.max_new_tokens = max_new_tokens
        self.every = max(1, int(every))
        self.seed = seed
        self.samples = {}

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        from seqkit.models.language_model import generate

        for temperature in self.temperatures:
            text = generate(
                self.model, self.vocabulary, [self.prompt], level=self.level, max_new_tokens=self.max_new_tokens,
                temperature=temperature, seed=self.seed,
            )[0]
            self.samples[(epoch + 1, temperature)] = text
            print(f"--- sample after epoch {epoch + 1}, temperature {temperature} ---\n{text}\n", flush=True)


class ResetStates(keras.callbacks.Callback):
    """Zeroes a stateful model's recurrent state at each epoch and before validation."""

    def _reset(self):
        for layer in self.model.layers:
            if getattr(layer, "stateful", False) and hasattr(layer, "reset_states"):
                layer.reset_states()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()

    def on_test_begin(self, logs=None):
        self._reset()

    def on_test_end(self, logs=None):
        self._reset()
