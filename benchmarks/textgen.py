"""Language-model benchmarks: tiny-shakespeare in a 45-minute CPU budget, generation speed, a word LM.

Usage (from the repository root, with SEQKIT_DATA_DIR pointing at the datasets):

    KERAS_BACKEND=jax python benchmarks/textgen.py budget
                                             # recipes/textgen.py --max-minutes=45: validation nats/char
                                             # (JAX trains the LSTM 1.7-2.9x faster than TensorFlow on this CPU)
    python benchmarks/textgen.py generation [WORKDIR]
                                             # the budget run's model (or WORKDIR's best.keras), exported
                                             # plain and with jit_compile=True: chars/s, 1 and 64 streams,
                                             # against a keras-io-style loop that re-reads the prefix
    python benchmarks/textgen.py wordlm      # a word LM on spa-eng's English side; pear vs pair
    python benchmarks/textgen.py table       # regenerate the tables in benchmarks/README.md

Each task writes `benchmarks/results/textgen_<task>.json` and regenerates the tables.
"""

import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from sentiment import RESULTS, load_recipe, machine, write_section  # noqa: E402

BEGIN, END = "<!-- textgen:begin -->", "<!-- textgen:end -->"
TASKS = {
    "budget": ["--max-minutes=45", "--anneal-over=0.3", "--workdir=runs/benchmarks/textgen-budget", "--export-dir=runs/benchmarks/exports"],
    "wordlm": [
        # Short windows in small batches: many updates, as in tests/test_word_lm.py.
        "--level=word", "--dataset=spa-eng", "--min-freq=2", "--sequence-length=24", "--embedding-dim=128",
        "--units=256", "--num-layers=1", "--dropout=0.1", "--output-dropout=0.1", "--batch-size=32",
        "--learning-rate=0.003", "--epochs=3", "--sample-prompt=i would like",
        "--workdir=runs/benchmarks/textgen-wordlm", "--export-dir=runs/benchmarks/exports", "--name=wordlm",
    ],
}


def run_recipe(task):
    recipe = load_recipe("textgen")
    config = recipe.config_lib.parse_args(recipe.Config(), TASKS[task])
    metrics = recipe.run(config)
    keep = ("data", "validation", "epochs_run", "stopped_by_time_budget", "train_seconds", "train_tokens_per_second",
            "scores", "export_path", "vocabulary_size", "workdir")
    result = {key: metrics[key] for key in keep if key in metrics}
    result["samples"] = metrics["samples"][-3:]
    import keras

    backend = keras.backend.backend()
    result["backend"] = backend
    result["recipe_command"] = ("" if backend == "tensorflow" else f"KERAS_BACKEND={backend} ") + "python recipes/textgen.py " + " ".join(
        arg for arg in TASKS[task] if not arg.startswith(("--workdir", "--export-dir"))
    )
    return result


def _chars_per_second(function, new_chars, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return new_chars / statistics.median(times)


def run_generation(workdir=None):
    """Chars/s of the exported model's in-graph sampler (plain and XLA-compiled) and of a keras-io-style loop.

    `workdir` holds a textgen run's `best.keras` and `vocabulary.json` (default: the budget run's).
    Both exports are made here from that checkpoint, so they serve the same weights.
    """
    import tempfile

    import numpy as np
    import tensorflow as tf

    import keras
    import seqkit
    from seqkit.data import Vocabulary

    if workdir is None:
        workdir = json.loads((RESULTS / "textgen_budget.json").read_text())["workdir"]
    workdir = Path(workdir)
    if not (workdir / "best.keras").exists():
        raise SystemExit(f"{workdir}/best.keras not found: run `python benchmarks/textgen.py budget` first, "
                         "or pass the workdir of any `recipes/textgen.py` run.")
    # Uncompiled: the checkpoint's compile config (jit_compile=True when trained on JAX) would
    # make TensorFlow recompile XLA for every new prefix length in the keras-io loop.
    model = keras.saving.load_model(workdir / "best.keras", compile=False)
    vocabulary = Vocabulary.load(workdir / "vocabulary.json")
    result = {"workdir": str(workdir), "model_parameters": model.count_params(), "streams": {}}
    new_chars = 1000
    with tempfile.TemporaryDirectory(prefix="textgen-generation-") as root:
        for key, jit_compile in (("seqkit", False), ("seqkit_xla", True)):
            path = seqkit.export_language_model(model, vocabulary, max_new_tokens=new_chars, temperature=0.8,
                                                export_root=root, name=key, jit_compile=jit_compile)
            generate = tf.saved_model.load(str(path)).signatures["generate"]
            for streams in (1, 64):
                prompts = tf.constant(["ROMEO:"] * streams)

                def call():
                    out = generate(prompts=prompts, max_new_tokens=tf.constant(new_chars),
                                   temperature=tf.constant(0.8), seed=tf.constant(0))
                    return out["continuation"].numpy()

                warm_up = call()  # With XLA, also the compilation for this shape.
                rate = _chars_per_second(call, sum(len(text.decode("utf-8")) for text in warm_up), repeats=5)
                entry = result["streams"].setdefault(str(streams), {"new_chars": new_chars})
                entry[f"{key}_chars_per_second"] = round(rate, 1)
                print(f"export ({'XLA' if jit_compile else 'plain'}), {streams} stream(s): {rate:,.0f} chars/s")

    # keras-io's text-generation examples call `model.predict` on the whole text so far for
    # every new character; the same trained model, sampling the same way.
    baseline_chars = 100
    rng = np.random.default_rng(0)
    for streams in (1, 64):

        def loop():
            ids = np.full((streams, 1), vocabulary.bos_id, dtype="int32")
            for _ in range(baseline_chars):
                logits = model.predict(ids, verbose=0)[:, -1] / 0.8
                probabilities = np.exp(logits - logits.max(axis=-1, keepdims=True))
                probabilities /= probabilities.sum(axis=-1, keepdims=True)
                chosen = [rng.choice(len(p), p=p) for p in probabilities]
                ids = np.concatenate([ids, np.array(chosen, dtype="int32")[:, None]], axis=1)

        rate = _chars_per_second(loop, streams * baseline_chars, repeats=1)
        entry = result["streams"][str(streams)]
        entry["keras_io_chars_per_second"] = round(rate, 1)
        entry["keras_io_new_chars"] = baseline_chars
        best = max(entry["seqkit_chars_per_second"], entry["seqkit_xla_chars_per_second"])
        entry["speedup"] = round(best / rate, 1)
        print(f"keras-io loop, {streams} stream(s): {rate:,.0f} chars/s ({entry['speedup']}x slower)")
    return result


def save(task, result):
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"textgen_{task}.json").write_text(json.dumps({**result, "machine": machine()}, indent=2))
    render_tables()


def render_tables():
    lines = []
    budget_path, generation_path, word_path = (RESULTS / f"textgen_{t}.json" for t in ("budget", "generation", "wordlm"))
    if budget_path.exists():
        b = json.loads(budget_path.read_text())
        v = b["validation"]
        lines += [
            "| run | validation nats/char | bits/char | perplexity | training | tokens/s | command |",
            "|---|---|---|---|---|---|---|",
            f"| tiny-shakespeare, char LSTM 2×512, 45-minute budget | **{v['nats_per_character']:.4f}** | "
            f"{v['bits_per_character']:.4f} | {v['perplexity']:.3f} | {b['train_seconds'] / 60:.1f} min, "
            f"{b['epochs_run']} epochs{' (the last cut short)' if b.get('stopped_by_time_budget') else ''} | "
            f"{b['train_tokens_per_second']:,.0f} | `{b['recipe_command']}` |",
            "",
            f"Run of {b['machine']['date']} on {b['machine']['cpu']}; 2 cores, CPU only.",
            "",
        ]
    if generation_path.exists():
        g = json.loads(generation_path.read_text())
        lines += [
            "| generation | seqkit export, in-graph sampler (chars/s) | the same, `jit_compile=True` (XLA) | "
            "keras-io-style loop (chars/s) | best ÷ keras-io |",
            "|---|---|---|---|---|",
        ]
        for streams, entry in g["streams"].items():
            xla = entry.get("seqkit_xla_chars_per_second")
            lines.append(
                f"| {streams} stream(s), {entry['new_chars']} new chars each | {entry['seqkit_chars_per_second']:,.0f} | "
                f"{f'{xla:,.0f}' if xla else '—'} | {entry.get('keras_io_chars_per_second', 0):,.1f} "
                f"({entry.get('keras_io_new_chars', 0)} new chars each) | {entry.get('speedup', 0)}× |"
            )
        lines += ["", f"`python benchmarks/textgen.py generation {g['workdir']}`, {g['machine']['date']}, "
                  f"{g['machine']['cpu']}.", ""]
    if word_path.exists():
        w = json.loads(word_path.read_text())
        v = w["validation"]
        lines += [
            "| word LM | validation perplexity | nats/char | scores (log-prob, nats) | command |",
            "|---|---|---|---|---|",
            f"| {w['data']} | {v['perplexity']:.2f} | {v.get('nats_per_character', float('nan')):.4f} | "
            + "; ".join(f"“{s['text']}” {s['log_prob']:.2f}" for s in w["scores"])
            + f" | `{w['recipe_command']}` |",
            "",
        ]
    write_section(BEGIN, END, lines)


def main(argv):
    if not argv or argv[0] not in ("budget", "generation", "wordlm", "table") or len(argv) > (2 if argv[0] == "generation" else 1):
        print(__doc__)
        return 2
    task = argv[0]
    if task in TASKS:
        save(task, run_recipe(task))
    elif task == "generation":
        save(task, run_generation(*argv[1:]))
    render_tables()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
