"""Hyperparameter search over the recurrent stack (cell, units, layers, dropout) with KerasTuner, on the dev set.

KerasTuner runs the trials; this module only names the search space of seqkit's
stack and reads the results back. Trials are saved under `directory`, so a search
cut short resumes where it stopped (KerasTuner's own JSON state; no pickle).
`pip install "seqkit[tune]"` installs KerasTuner.

Example:
>>> import keras_tuner
>>> hp = keras_tuner.HyperParameters()
>>> sorted(stack_hyperparameters(hp))
['cell', 'dropout', 'num_layers', 'units']
"""

from pathlib import Path

# name -> the values searched (a tuple of choices, or (min, max, step) for dropout).
STACK_SPACE = {"cell": ("lstm", "gru"), "units": (32, 64, 128), "num_layers": (1, 2), "dropout": (0.0, 0.5, 0.1)}


def _keras_tuner():
    try:
        import keras_tuner
    except ImportError:
        raise ValueError("Hyperparameter search needs KerasTuner: pip install \"seqkit[tune]\" "
                         "(or pip install keras-tuner).") from None
    return keras_tuner


def stack_hyperparameters(hp, space=None):
    """Draws the stack's configuration from a KerasTuner `HyperParameters`: `{cell, units, num_layers, dropout}`."""
    space = {**STACK_SPACE, **(space or {})}
    unknown = sorted(set(space) - set(STACK_SPACE))
    if unknown:
        raise ValueError(f"The search space has names outside the stack's {sorted(STACK_SPACE)}. Received: {unknown}")
    low, high, step = space["dropout"]
    return {
        "cell": hp.Choice("cell", list(space["cell"])),
        "units": hp.Choice("units", list(space["units"])),
        "num_layers": hp.Choice("num_layers", list(space["num_layers"])),
        "dropout": hp.Float("dropout", low, high, step=step),
    }


def search_stack(build, train_data, dev_data, directory, max_trials=8, epochs=3, objective="val_loss", seed=0,
                 space=None, verbose=0):
    """Random search over the stack's configuration; returns `(best values, trials)`.

    Args:
        build: `build(values)` -> a compiled Keras model, where `values` is the
            dict of `stack_hyperparameters`.
        train_data, dev_data: what `model.fit` takes as data and `validation_data`
            (e.g. `tf.data` datasets).
        directory: where the trials are kept (a cut search resumes from it).
        max_trials: configurations tried.
        epochs: training epochs per trial (each stops early after 1 epoch without
            dev gain).
        objective: the dev-set quantity to minimize (`val_loss`) or maximize
            (names with acc, auc or f1).
        seed: seeds the random search.
        space: overrides of `STACK_SPACE`.

    Returns:
        The best trial's values, and one dict per trial (its values and score),
        best first.
    """
    import keras

    from seqkit.training import monitor_mode

    keras_tuner = _keras_tuner()
    if not isinstance(max_trials, int) or max_trials < 1:
        raise ValueError(f"`max_trials` must be a positive int. Received: {max_trials!r}")
    direction = monitor_mode(objective)
    tuner = keras_tuner.RandomSearch(
        hypermodel=lambda hp: build(stack_hyperparameters(hp, space)),
        objective=keras_tuner.Objective(objective, direction=direction),
        max_trials=max_trials,
        seed=seed,
        directory=str(Path(directory).parent),
        project_name=Path(directory).name,
        overwrite=False,
    )
    stop = keras.callbacks.EarlyStopping(monitor=objective, mode=direction, patience=1)
    tuner.search(train_data, validation_data=dev_data, epochs=epochs, callbacks=[stop], verbose=verbose)
    finished = [trial for trial in tuner.oracle.get_best_trials(num_trials=max_trials) if trial.score is not None]
    if not finished:
        # KerasTuner logs a failed trial's traceback and goes on; without a score there is no best.
        failed = [trial.message for trial in tuner.oracle.trials.values() if trial.message]
        raise ValueError(f"No trial of the search under {directory} finished: every configuration failed to train. "
                         f"First failure: {failed[0].strip().splitlines()[-1] if failed else 'unknown'}")
    trials = [{**trial.hyperparameters.values, "score": trial.score} for trial in finished]
    return tuner.get_best_hyperparameters(1)[0].values, trials
