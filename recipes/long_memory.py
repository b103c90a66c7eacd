"""The vanishing-gradient experiment: the adding problem across cells and sequence lengths.

Each sequence holds random numbers and two markers; the target is the sum of the
two marked numbers (Hochreiter & Schmidhuber 1997), one marker in each half, so
a model must carry a number across about T/2 steps. Always predicting 1 scores
the baseline MSE 1/6 = 0.167; a model below it has learnt to remember.

For every cell (tanh SimpleRNN, IRNN, GRU, LSTM, peephole LSTM) and every length
T, the recipe trains on freshly generated batches and reports the test MSE. It
also makes backpropagation through time visible:

1. `mse_vs_length.png`: test MSE against T per cell, with the 0.167 baseline;
2. `state_gradients.png`: the norm of dL/dh_t against t, at initialization and
   after training, at `--gradient-length`: the gradient dies on its way back
   through a tanh SimpleRNN and survives through LSTM and GRU;
3. `clipping.png`: the gradient norm and loss over training steps with and
   without `clipnorm`, on a setting that explodes (IRNN trained by plain SGD:
   its ReLU units and identity recurrent weights let gradients grow without
   bound, Le et al. 2015 clip them too);

and writes `metrics.json`. Training runs a TensorFlow loop (the gradient norms
need the raw gradients); the models are seqkit's `RecurrentStack`.

Usage:

    python recipes/long_memory.py --quick        # < 3 min: T = 50, 100; tanh RNN, LSTM
    python recipes/long_memory.py                # T = 50, 100, 200, 400; all five cells
    python recipes/long_memory.py --cells=lstm,gru --lengths=100,400 --steps=5000 --units=64

Every config field below is a `--key=value` option. Figures and the commands that
produced them are in `benchmarks/README.md`.
"""

import dataclasses
import json
import math
import sys
import time

import keras
import numpy as np

import seqkit
from seqkit import config as config_lib
from seqkit.data.adding_problem import BASELINE_MSE, adding_problem
from seqkit.layers import RecurrentStack, stack_preset
from seqkit.plots import plot_lines

# Cell names of this recipe: the stack's cells, and IRNN as its preset.
CELLS = ("simple", "irnn", "gru", "lstm", "peephole")
LABELS = {"simple": "tanh RNN", "irnn": "IRNN", "gru": "GRU", "lstm": "LSTM", "peephole": "peephole LSTM"}


@dataclasses.dataclass
class Config:
    # --- Task ---
    lengths: str = "50,100,200,400"  # Comma-separated sequence lengths T.
    cells: str = "simple,irnn,gru,lstm,peephole"  # Cells to compare (see CELLS).
    test_size: int = 2000  # Test sequences per length (a fixed, seeded set).
    # --- Model ---
    units: int = 32  # Recurrent units (one layer).
    # --- Training ---
    steps: int = 3000  # Training steps per run, each on a fresh batch.
    batch_size: int = 50  # Sequences per step.
    learning_rate: float = 0.01  # Adam learning rate.
    clipnorm: float = 1.0  # Clip each weight's gradient to this norm (0: off).
    eval_every: int = 250  # Validation MSE every this many steps (the learning curves).
    seed: int = 0  # Seeds data, initialization and the test sets.
    # --- Gradient plots ---
    gradient_length: int = 100  # T of the dL/dh_t plot.
    explode_scale: float = 1.0  # The exploding setting: IRNN with this times the identity as recurrent weights...
    explode_learning_rate: float = 0.01  # ...trained by SGD with this learning rate...
    explode_steps: int = 200  # ...for this many steps, at --gradient-length, with and without clipping.
    # --- Quick mode ---
    quick: bool = False  # T = 50 and 100, tanh RNN and LSTM, fewer steps: under 3 minutes.
    # --- Outputs ---
    workdir: str = "runs/long_memory"  # Plots and metrics.json.


def quick_config(config):
    return dataclasses.replace(
        config, lengths="50,100", cells="simple,lstm", steps=min(config.steps, 2000), test_size=min(config.test_size, 500),
        gradient_length=100,
    )


def parse_list(text, convert, name):
    try:
        values = [convert(value) for value in text.split(",") if value.strip()]
    except ValueError:
        raise config_lib.ConfigError(f"--{name} must be a comma-separated list. Received: {text!r}") from None
    if not values:
        raise config_lib.ConfigError(f"--{name} must name at least one value. Received: {text!r}")
    return values


def check_config(config):
    for cell in parse_list(config.cells, str.strip, "cells"):
        if cell not in CELLS:
            raise config_lib.ConfigError(f"--cells must be drawn from {CELLS}. Received: {cell!r}")
    for length in parse_list(config.lengths, int, "lengths") + [config.gradient_length]:
        if length < 2:
            raise config_lib.ConfigError(f"Sequence lengths must be >= 2. Received: {length}")
    for name in ("units", "steps", "batch_size", "test_size", "eval_every", "explode_steps"):
        if getattr(config, name) < 1:
            raise config_lib.ConfigError(f"--{name.replace('_', '-')} must be >= 1. Received: {getattr(config, name)}")


# === Model ===


def build_model(cell, units, recurrent_scale=None):
    """`(batch, T, 2)` sequences -> one number, through one recurrent layer."""
    options = stack_preset("irnn") if cell == "irnn" else {"cell": cell}
    if recurrent_scale is not None:
        options["recurrent_initializer"] = {"class_name": "Identity", "config": {"gain": recurrent_scale}}
    inputs = keras.Input((None, 2), name="sequence")
    hidden = RecurrentStack(units=units, return_sequences=False, name="recurrent_stack", **options)(inputs)
    outputs = keras.layers.Dense(1, name="prediction")(hidden)
    return keras.Model(inputs, outputs, name=f"adding_{cell}")


def make_train_step(model, optimizer):
    import tensorflow as tf

    loss_fn = keras.losses.MeanSquaredError()
    optimizer.build(model.trainable_variables)

    @tf.function(reduce_retracing=True)
    def train_step(inputs, targets):
        with tf.GradientTape() as tape:
            loss = loss_fn(targets, model(inputs, training=True))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)  # Clips (clipnorm) before the update.
        return loss, tf.linalg.global_norm(gradients)

    return train_step


def mse(model, inputs, targets):
    predictions = model.predict(inputs, batch_size=500, verbose=0)
    return float(np.mean((predictions - targets) ** 2))


def train(model, config, length, rng, learning_rate, clipnorm, steps, validation=None, optimizer="adam"):
    """Trains on fresh batches; returns per-step losses and gradient norms, and the validation curve."""
    optimizer_class = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD}[optimizer]
    optimizer = optimizer_class(learning_rate, clipnorm=clipnorm or None)
    train_step = make_train_step(model, optimizer)
    losses, norms, curve = [], [], []
    for step in range(1, steps + 1):
        inputs, targets = adding_problem(config.batch_size, length, rng)
        loss, norm = train_step(inputs, targets)
        losses.append(float(loss))
        norms.append(float(norm))
        if not math.isfinite(losses[-1]):
            break  # Diverged: nothing more to learn from this run.
        if validation is not None and (step % config.eval_every == 0 or step == steps):
            curve.append((step, mse(model, *validation)))
    return losses, norms, curve


def state_gradients(model, inputs, targets):
    """`||dL/dh_t||` for every step t (mean over the batch), by probing each hidden state.

    A zero probe is added to every h_t in a step-by-step run of the same cell;
    the gradient of the loss with respect to the probe at t is dL/dh_t, through
    every later step.
    """
    import tensorflow as tf

    stack, head = model.get_layer("recurrent_stack"), model.get_layer("prediction")
    inputs = tf.constant(inputs)
    batch, length = inputs.shape[0], inputs.shape[1]
    probes = tf.zeros((length, batch, stack.units[0]))
    with tf.GradientTape() as tape:
        tape.watch(probes)
        states = stack.initial_states(batch)
        for t in range(length):
            output, states = stack.step(inputs[:, t], states)
            output = output + probes[t]
            states = [output] + list(states[1:])  # h_t feeds the next step with its probe.
        loss = tf.reduce_mean(tf.square(head(output) - targets))
    gradients = tape.gradient(loss, probes)
    return tf.reduce_mean(tf.norm(gradients, axis=-1), axis=1).numpy()


# === The experiment ===


def run(config):
    """Runs the configured experiment end to end; returns the metrics dict."""
    if config.quick:
        config = quick_config(config)
    check_config(config)
    cells = parse_list(config.cells, str.strip, "cells")
    lengths = parse_list(config.lengths, int, "lengths")
    workdir = seqkit.training.resolve_workdir(config.workdir)
    seqkit.training.record_config(workdir, config)
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"workdir: {workdir}")
    start = time.time()

    results, curves, gradients = {}, {}, {}
    for length in lengths:
        test = adding_problem(config.test_size, length, np.random.default_rng([config.seed, length, 1]))
        validation = adding_problem(min(config.test_size, 500), length, np.random.default_rng([config.seed, length, 2]))
        for cell in cells:
            seqkit.set_seed(config.seed)
            model = build_model(cell, config.units)
            probe = None
            if length == config.gradient_length:
                probe = adding_problem(100, length, np.random.default_rng([config.seed, length, 3]))
                gradients.setdefault(cell, {})["initial"] = state_gradients(model, *probe).tolist()
            run_start = time.time()
            losses, _, curve = train(
                model, config, length, np.random.default_rng([config.seed, length, 0]), config.learning_rate,
                config.clipnorm, config.steps, validation,
            )
            test_mse = mse(model, *test) if math.isfinite(losses[-1]) else float("nan")
            if probe is not None:
                gradients[cell]["trained"] = state_gradients(model, *probe).tolist()
            results.setdefault(cell, {})[str(length)] = test_mse
            curves.setdefault(cell, {})[str(length)] = curve
            print(
                f"T={length:4d} {LABELS[cell]:14s} test MSE {test_mse:.4f} "
                f"({'below' if test_mse < BASELINE_MSE else 'not below'} the {BASELINE_MSE:.3f} baseline; "
                f"{len(losses)} steps, {time.time() - run_start:.0f} s)"
            )

    # Exploding gradients: the same IRNN with and without clipping.
    explode = {}
    for clipnorm in (0.0, config.clipnorm or 1.0):
        seqkit.set_seed(config.seed)
        model = build_model("irnn", config.units, recurrent_scale=config.explode_scale)
        losses, norms, _ = train(
            model, config, config.gradient_length, np.random.default_rng([config.seed, 0]),
            config.explode_learning_rate, clipnorm, config.explode_steps, optimizer="sgd",
        )
        key = f"clipnorm={clipnorm:g}" if clipnorm else "no clipping"
        explode[key] = {"losses": losses, "gradient_norms": norms}
        finite = [loss for loss in losses if math.isfinite(loss)]
        print(
            f"exploding IRNN (recurrent weights {config.explode_scale} x identity, SGD), {key}: "
            f"largest gradient norm {max(norms):.3g}, last loss {losses[-1]:.4g}"
            + ("" if len(finite) == len(losses) else f" (diverged at step {len(finite) + 1})")
        )

    metrics = {
        "test_mse": results,
        "baseline_mse": BASELINE_MSE,
        "validation_curves": curves,
        "state_gradient_norms": gradients,
        "exploding": explode,
        "seconds": round(time.time() - start, 1),
        "config": dataclasses.asdict(config),
    }
    write_plots(metrics, cells, lengths, config, workdir)
    seqkit.utils.atomic_write_text(workdir / "metrics.json", json.dumps(metrics, indent=2))
    print(f"outputs: {workdir}/{{metrics.json, mse_vs_length.png, state_gradients.png, clipping.png}}")
    return metrics


def write_plots(metrics, cells, lengths, config, workdir):
    plot_lines(
        [{
            "lines": [
                {"x": lengths, "y": [metrics["test_mse"][cell][str(t)] for t in lengths], "label": LABELS[cell],
                 "style": "-o"}
                for cell in cells
            ],
            "hline": (BASELINE_MSE, "predict 1 (0.167)"),
            "xlabel": "sequence length T", "ylabel": "test MSE", "log_x": True, "log_y": True,
        }],
        workdir / "mse_vs_length.png",
        title=f"The adding problem: {config.steps} steps of {config.batch_size}, {config.units} units",
    )
    gradients = metrics["state_gradient_norms"]
    if gradients:
        lines = []
        for cell, curves in gradients.items():
            for stage, style in (("initial", "--"), ("trained", "-")):
                if stage in curves:
                    lines.append({"x": np.arange(1, len(curves[stage]) + 1), "y": curves[stage], "style": style,
                                  "label": f"{LABELS[cell]}, {stage}", "color": f"C{CELLS.index(cell)}"})
        plot_lines(
            [{"lines": lines, "xlabel": "time step t", "ylabel": "||dL/dh_t||", "log_y": True}],
            workdir / "state_gradients.png",
            title=f"Backpropagation through time at T={config.gradient_length}",
        )
    explode = metrics["exploding"]
    plot_lines(
        [
            {"lines": [{"x": np.arange(1, len(run["gradient_norms"]) + 1), "y": run["gradient_norms"], "label": key}
                       for key, run in explode.items()],
             "xlabel": "training step", "ylabel": "gradient norm (before clipping)", "log_y": True},
            {"lines": [{"x": np.arange(1, len(run["losses"]) + 1), "y": run["losses"], "label": key}
                       for key, run in explode.items()],
             "xlabel": "training step", "ylabel": "training MSE", "log_y": True,
             "hline": (BASELINE_MSE, "predict 1")},
        ],
        workdir / "clipping.png",
        title=f"Exploding gradients: IRNN (recurrent weights {config.explode_scale} x identity), "
              f"SGD at {config.explode_learning_rate}",
    )


def main(argv=None):
    return config_lib.run_main(Config(), run, sys.argv[1:] if argv is None else argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
