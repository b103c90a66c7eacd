"""Training helpers: seeds, atomic best-checkpoints, the standard callback set, and
callbacks for time budgets, stateful models and generation samples."""

import contextlib
import math
import os
import time
from pathlib import Path

import keras

from seqkit.utils import save_model_atomic


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

    def __init__(self, filepath, monitor="val_loss", mode="auto"):
        super().__init__()
        if not str(filepath).endswith(".keras"):
            raise ValueError(f"`filepath` must end in '.keras'. Received: filepath={filepath!r}")
        mode = monitor_mode(monitor, mode)
        self.filepath = Path(filepath)
        self.monitor = monitor
        self.mode = mode
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        improved = value < self.best if self.mode == "min" else value > self.best
        if improved:
            self.best, self.best_epoch = float(value), epoch
            save_model_atomic(self.model, self.filepath)


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
    callbacks = [BestModelCheckpoint(workdir / "best.keras", monitor=monitor)]
    if reduce_lr_patience:
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=monitor, mode=monitor_mode(monitor), factor=reduce_lr_factor,
                patience=reduce_lr_patience, min_delta=min_delta, verbose=1,
            )
        )
    if patience:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor, mode=monitor_mode(monitor), patience=patience, min_delta=min_delta,
                restore_best_weights=True, verbose=1,
            )
        )
    if backup:
        callbacks.append(keras.callbacks.BackupAndRestore(backup_dir=str(workdir / "backup")))
    if csv_log:
        callbacks.append(keras.callbacks.CSVLogger(str(workdir / "log.csv"), append=True))
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
