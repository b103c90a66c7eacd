import json

import keras
import numpy as np
import pytest

import seqkit
from seqkit.training import BestModelCheckpoint, resolve_workdir, training_callbacks


def small_model():
    seqkit.set_seed(0)
    return seqkit.compile_classifier(seqkit.build_classifier(30, units=4, embedding_dim=4))


def data():
    rng = np.random.default_rng(0)
    return rng.integers(1, 30, (64, 6)), rng.integers(0, 2, 64)


class StopAt(keras.callbacks.Callback):
    """Simulates a crash at the start of a given epoch."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("interrupted")


def test_resume_after_interruption(tmp_path):
    x, y = data()
    model = small_model()
    with pytest.raises(RuntimeError, match="interrupted"):
        model.fit(x, y, validation_data=(x, y), epochs=4, verbose=0,
                  callbacks=training_callbacks(tmp_path, patience=0) + [StopAt(2)])
    assert (tmp_path / "backup").is_dir()
    # A fresh model and the same command: training picks up at epoch 3 of 4.
    resumed = small_model()
    history = resumed.fit(x, y, validation_data=(x, y), epochs=4, verbose=0,
                          callbacks=training_callbacks(tmp_path, patience=0))
    assert len(history.epoch) == 2 and history.epoch[0] == 2
    assert not (tmp_path / "backup").exists()  # Cleaned up once training finished.
    log = (tmp_path / "log.csv").read_text().strip().splitlines()
    assert [line.split(",")[0] for line in log[1:]] == ["0", "1", "2", "3"]


class Losses(keras.callbacks.Callback):
    """Feeds a scripted validation loss to the callbacks after it (as if the model had logged it)."""

    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]


def test_early_stopping_checkpoint_and_history_carry_across_a_resume(tmp_path):
    x, y = data()
    # Best at epoch 1, then worse: with patience 3, training stops after epoch 4 (the 5th) either way.
    scripted = [0.9, 0.5, 0.6, 0.7, 0.8, 0.95, 0.99]

    def run(workdir, model, crash_at=None):
        callbacks = [Losses(scripted)] + training_callbacks(workdir, patience=3, reduce_lr_patience=2)
        callbacks += [StopAt(crash_at)] if crash_at is not None else []
        return model.fit(x, y, epochs=7, verbose=0, callbacks=callbacks, shuffle=False)

    def model():  # No dropout and no shuffling: the epochs after the resume repeat the straight run's exactly.
        seqkit.set_seed(0)
        return seqkit.compile_classifier(seqkit.build_classifier(30, units=4, embedding_dim=4, head_dropout=0.0))

    straight = run(tmp_path / "straight", model())
    with pytest.raises(RuntimeError, match="interrupted"):
        run(tmp_path / "killed", model(), crash_at=3)
    state = json.loads((tmp_path / "killed" / "backup" / "early_stopping.json").read_text())
    assert state == {"wait": 1, "best": 0.5, "best_epoch": 1}
    resumed_model = model()
    resumed = run(tmp_path / "killed", resumed_model)
    assert resumed.epoch == [3, 4]  # Picked up at epoch 4 of 7, stopped by the carried patience count.
    assert straight.epoch == [0, 1, 2, 3, 4]
    # The best weights restored at the end are epoch 1's, from the checkpoint, as in the straight run.
    best = keras.saving.load_model(tmp_path / "killed" / "best.keras")
    for restored, kept in zip(resumed_model.get_weights(), best.get_weights()):
        np.testing.assert_allclose(restored, kept)
    logs, epochs_run = seqkit.training.run_history(tmp_path / "killed", resumed)
    straight_logs, straight_epochs = seqkit.training.run_history(tmp_path / "straight", straight)
    assert epochs_run == straight_epochs == 5
    assert logs["val_loss"] == straight_logs["val_loss"] == scripted[:5]
    np.testing.assert_allclose(logs["loss"], straight_logs["loss"], rtol=1e-5)  # The same batches, weights, optimizer.
    assert not (tmp_path / "killed" / "backup").exists()  # State and backup go once training ends.


def test_best_checkpoint_tracks_the_monitored_value(tmp_path):
    model = small_model()
    checkpoint = BestModelCheckpoint(tmp_path / "best.keras", monitor="val_loss")
    checkpoint.set_model(model)
    checkpoint.on_epoch_end(0, {"val_loss": 0.5})
    first = (tmp_path / "best.keras").stat().st_mtime_ns
    checkpoint.on_epoch_end(1, {"val_loss": 0.7})  # Worse: not saved.
    assert (tmp_path / "best.keras").stat().st_mtime_ns == first
    assert checkpoint.best_epoch == 0
    checkpoint.on_epoch_end(2, {"val_loss": 0.4})
    assert checkpoint.best_epoch == 2
    assert [p.name for p in tmp_path.iterdir()] == ["best.keras"]  # No temporary files left behind.
    restored = keras.saving.load_model(tmp_path / "best.keras")
    np.testing.assert_allclose(restored.predict(data()[0], verbose=0), model.predict(data()[0], verbose=0), atol=1e-6)
    assert BestModelCheckpoint(tmp_path / "b.keras", monitor="val_accuracy").mode == "max"
    with pytest.raises(ValueError, match="must end in '.keras'"):
        BestModelCheckpoint(tmp_path / "best.h5")


def test_early_stopping_restores_best_weights(tmp_path):
    callbacks = training_callbacks(tmp_path, patience=1, backup=False, csv_log=False)
    early_stopping = [c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)][0]
    assert early_stopping.restore_best_weights and early_stopping.patience == 1
    assert not any(isinstance(c, keras.callbacks.BackupAndRestore) for c in callbacks)
    assert any(isinstance(c, keras.callbacks.TensorBoard) for c in training_callbacks(tmp_path, tensorboard=True))


def test_seeds_make_runs_repeatable():
    x, y = data()
    losses = []
    for _ in range(2):
        model = small_model()
        losses.append(model.fit(x, y, epochs=2, verbose=0, shuffle=True).history["loss"])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-6)


def test_resolve_workdir_skips_finished_runs(tmp_path):
    (tmp_path / "run").mkdir()
    assert resolve_workdir(tmp_path / "run") == tmp_path / "run"  # Interrupted: resume in place.
    (tmp_path / "run" / "metrics.json").write_text("{}")
    (tmp_path / "run-2").mkdir()
    (tmp_path / "run-2" / "metrics.json").write_text("{}")
    assert resolve_workdir(tmp_path / "run") == tmp_path / "run-3"


def test_plateau_halves_the_learning_rate(tmp_path):
    class ConstantScore(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_f1"] = 0.5  # Never improves after the first epoch.

    x, y = data()
    model = small_model()
    callbacks = [ConstantScore()] + training_callbacks(
        tmp_path, monitor="val_f1", patience=0, reduce_lr_patience=1, backup=False, csv_log=False
    )
    model.fit(x, y, epochs=3, verbose=0, callbacks=callbacks)
    # Epoch 0 sets the best score; epochs 1 and 2 each halve the rate.
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.25 * 1e-3, rtol=1e-6)
    with pytest.raises(ValueError, match="reduce_lr_factor"):
        training_callbacks(tmp_path, reduce_lr_factor=1.5)


@pytest.mark.slow  # Default-run budget (10 min on 2 cores); `pytest -m slow` runs it.
def test_early_stopping_ignores_gains_below_min_delta(tmp_path):
    class CreepingLoss(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = 1.0 - 1e-5 * epoch  # A converged model's loss, still creeping down.

    x, y = data()
    stopped = {}
    for min_delta in (0.0, 1e-3):
        model = small_model()
        callbacks = [CreepingLoss()] + training_callbacks(
            tmp_path / str(min_delta), patience=2, min_delta=min_delta, backup=False, csv_log=False
        )
        stopped[min_delta] = len(model.fit(x, y, epochs=8, verbose=0, callbacks=callbacks).history["loss"])
    # Without min_delta every epoch improves; with it, epoch 0 is the last gain and 2 more end the run.
    assert stopped == {0.0: 8, 1e-3: 3}


class FakeClock:
    """`time.monotonic` that advances one minute per call after the first."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        value = self.now
        self.now += 60.0
        return value


class RecordRate(keras.callbacks.Callback):
    """Records the learning rate after every batch."""

    def __init__(self):
        super().__init__()
        self.rates = []

    def on_train_batch_end(self, batch, logs=None):
        self.rates.append(float(self.model.optimizer.learning_rate))


def test_time_budget_stops_and_anneals_the_learning_rate():
    x, y = data()
    model = small_model()
    budget = seqkit.TimeBudget(4, anneal_to=0.1)
    budget._clock = FakeClock()
    recorder = RecordRate()
    model.fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=[budget, recorder])
    rates = recorder.rates
    # Batch k ends k minutes into the 4-minute budget: the 4th batch stops the run.
    assert budget.stopped and len(rates) == 4
    expected = [1e-3 * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * k / 4))) for k in (1, 2, 3, 4)]
    np.testing.assert_allclose(rates, expected, rtol=1e-5)
    assert rates[-1] == pytest.approx(1e-4, rel=1e-5)


def test_time_budget_anneals_only_over_the_final_share():
    x, y = data()
    model = small_model()
    budget = seqkit.TimeBudget(4, anneal_to=0.1, anneal_over=0.5)
    budget._clock = FakeClock()
    recorder = RecordRate()
    model.fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=[budget, recorder])
    rates = recorder.rates
    # Constant for the first 2 minutes, then a cosine from 1e-3 to 1e-4 over the last 2.
    np.testing.assert_allclose(rates, [1e-3, 1e-3, 1e-3 * (0.1 + 0.9 * 0.5), 1e-4], rtol=1e-5)
    with pytest.raises(ValueError, match="anneal_over"):
        seqkit.TimeBudget(4, anneal_to=0.1, anneal_over=0.0)


def test_time_budget_without_annealing_keeps_the_learning_rate():
    x, y = data()
    model = small_model()
    budget = seqkit.TimeBudget(2)
    budget._clock = FakeClock()
    model.fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=[budget])
    assert budget.stopped and model.optimizer.iterations.numpy() == 2
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="anneal_to"):
        seqkit.TimeBudget(2, anneal_to=1.5)
    with pytest.raises(ValueError, match="minutes"):
        seqkit.TimeBudget(0)


def test_refit_schedule_replays_a_run_up_to_its_best_epoch(tmp_path):
    from seqkit.training import refit_schedule

    scores = [0.5, 0.4, 0.4, 0.7, 0.6]

    class ScriptedScore(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_f1"] = scores[epoch]

    x, y = data()
    model = small_model()
    callbacks = [ScriptedScore()] + training_callbacks(
        tmp_path, monitor="val_f1", patience=0, reduce_lr_patience=1, backup=False, csv_log=False
    )
    history = model.fit(x, y, epochs=5, verbose=0, callbacks=callbacks).history
    # Epochs 1 and 2 bring no gain, so epochs 2 and 3 train at half and a quarter of the rate; epoch 3 is best.
    epochs, rates = refit_schedule(history, "val_f1")
    assert epochs == 4
    np.testing.assert_allclose(rates, [1e-3, 1e-3, 5e-4, 2.5e-4], rtol=1e-6)

    fresh = small_model()
    replayed = fresh.fit(x, y, epochs=epochs, verbose=0,
                         callbacks=[keras.callbacks.LearningRateScheduler(lambda epoch: rates[epoch])]).history
    np.testing.assert_allclose(replayed["learning_rate"], rates, rtol=1e-6)

    assert refit_schedule({"val_loss": [0.9, 0.3, 0.3, 0.4]}, "val_loss", learning_rate=0.1) == (2, [0.1, 0.1])
    with pytest.raises(ValueError, match="pass the run's constant `learning_rate`"):
        refit_schedule({"val_loss": [0.9, 0.3]}, "val_loss")
    with pytest.raises(ValueError, match="needs per-epoch 'val_f1' values. Received keys: \\['loss'\\]"):
        refit_schedule({"loss": [1.0]}, "val_f1")
