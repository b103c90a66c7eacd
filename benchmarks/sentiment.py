"""Sentiment benchmarks: seqkit's recipe against the scikit-learn baseline, and bucketing against padding.

Usage (from the repository root, with SEQKIT_DATA_DIR pointing at the datasets):

    python benchmarks/sentiment.py mr            # MR 10-fold CV, 3 seeds, recipe vs TF-IDF+LR
    python benchmarks/sentiment.py imdb          # IMDB train/test, 3 seeds, recipe vs TF-IDF+LR
    python benchmarks/sentiment.py imdb_pretrain # IMDB, 3 seeds: --pretrain-lm (Dai & Le) against from scratch
    python benchmarks/sentiment.py throughput    # IMDB model: bucketed tf.data vs padded numpy arrays
    python benchmarks/sentiment.py table         # regenerate the tables in benchmarks/README.md

Each task writes `benchmarks/results/<task>.json` and regenerates the tables in
`benchmarks/README.md` from every results file present.
"""

import dataclasses
import datetime
import importlib.util
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))

from baselines import tfidf_logistic_regression  # noqa: E402

# `SEQKIT_BENCHMARK_SEEDS=1,2` runs a subset (e.g. to finish a cut run).
SEEDS = tuple(int(s) for s in os.environ.get("SEQKIT_BENCHMARK_SEEDS", "0,1,2").split(","))

# The recipe configs benchmarked; recipes/sentiment.py's docstring points here.
MR_OVERRIDES = [
    "--dataset=mr", "--cv-folds=10", "--naive-bayes", "--ngram-dim=0", "--stack-nbsvm", "--stack-chars",
    "--stack-ngram-order=3",
]
IMDB_OVERRIDES = ["--dataset=imdb", "--max-length=800", "--epochs=4", "--stack-nbsvm", "--stack-ngram-order=3"]
# The classifier started from a BiLM trained on the training reviews (labels unused); issue 9's protocol.
PRETRAIN_OVERRIDES = ["--pretrain-lm", "--pretrain-sampled=1024", "--pretrain-epochs=2"]


def load_recipe(name="sentiment"):
    """`recipes/<name>.py` as a module (recipes are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"{name}_recipe", HERE.parent / "recipes" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def machine():
    import tensorflow as tf

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "tensorflow": tf.__version__,
        "keras": __import__("keras").__version__,
        "backend": __import__("keras").backend.backend(),
        "date": datetime.date.today().isoformat(),
    }


def summarize(values):
    values = np.asarray(values, dtype=float)
    return {"mean": float(values.mean()), "std": float(values.std()), "values": values.tolist()}


def run_recipe(overrides, seed, workdir):
    recipe = load_recipe()
    config = recipe.config_lib.parse_args(
        recipe.Config(), [*overrides, f"--seed={seed}", f"--workdir={workdir}", "--no-export"]
    )
    start = time.time()
    metrics = recipe.run(config)
    return metrics, time.time() - start


def save(task, result):
    """Writes `results/<task>.json` and regenerates the README tables."""
    result = {**result, "machine": machine()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{task}.json").write_text(json.dumps(result, indent=2))
    render_tables()


def save_seed(task, description, overrides, seed, figures):
    """Adds one seed's `figures` to `results/<task>.json` and saves it.

    Seeds measured earlier with the same recipe command are kept, so that
    `SEQKIT_BENCHMARK_SEEDS=2` finishes a cut run; a different command starts over.
    """
    recipe_command = "python recipes/sentiment.py " + " ".join(overrides) + " --seed=S"
    path = RESULTS / f"{task}.json"
    per_seed = {}
    if path.exists():
        previous = json.loads(path.read_text())
        if previous.get("recipe_command") == recipe_command:
            per_seed = previous.get("per_seed", {})
    per_seed[str(seed)] = {**figures, "date": datetime.date.today().isoformat()}
    seeds = sorted(per_seed, key=int)
    result = {
        "task": description,
        "command": f"python benchmarks/sentiment.py {task}",
        "recipe_command": recipe_command,
        "seeds": [int(s) for s in seeds],
        "per_seed": per_seed,
    }
    for key in figures:  # Over the seeds that measured it.
        result[key] = summarize([per_seed[s][key] for s in seeds if key in per_seed[s]])
    save(task, result)


def benchmark_mr():
    import seqkit
    from seqkit.data import splits

    texts, labels = seqkit.datasets.load_mr()["all"]
    for seed in SEEDS:
        start = time.time()
        accuracies = []
        for train_index, test_index in splits.stratified_kfold(labels, n_splits=10, seed=seed):
            model = tfidf_logistic_regression().fit(splits.take(texts, train_index), splits.take(labels, train_index))
            accuracies.append(model.score(splits.take(texts, test_index), splits.take(labels, test_index)))
        baseline, baseline_seconds = float(np.mean(accuracies)), time.time() - start
        metrics, seconds = run_recipe(MR_OVERRIDES, seed, f"runs/benchmarks/mr-seed{seed}-{int(time.time())}")
        print(f"seed {seed}: baseline {baseline:.4f}  seqkit {metrics['accuracy']:.4f}")
        figures = {"baseline": baseline, "baseline_seconds": baseline_seconds, "seqkit": metrics["accuracy"],
                   "seqkit_seconds": seconds}
        if "accuracy_network_alone" in metrics:  # --stack-nbsvm: the network before stacking.
            figures["seqkit_network_alone"] = metrics["accuracy_network_alone"]
        save_seed("mr", "MR, 10-fold stratified CV (folds seeded per seed), mean accuracy over folds", MR_OVERRIDES,
                  seed, figures)


def benchmark_imdb():
    import seqkit

    data = seqkit.datasets.load_imdb()
    start = time.time()
    baseline = tfidf_logistic_regression().fit(*data["train"]).score(*data["test"])
    baseline_seconds = time.time() - start
    for seed in SEEDS:
        metrics, seconds = run_recipe(IMDB_OVERRIDES, seed, f"runs/benchmarks/imdb-seed{seed}-{int(time.time())}")
        print(f"seed {seed}: baseline {baseline:.4f}  seqkit {metrics['accuracy']:.4f}")
        figures = {"baseline": baseline, "baseline_seconds": baseline_seconds, "seqkit": metrics["accuracy"],
                   "seqkit_seconds": seconds, "seqkit_epoch_seconds": metrics["train_seconds"] / metrics["epochs_run"]}
        if "accuracy_network_alone" in metrics:  # --stack-nbsvm: the network before stacking.
            figures["seqkit_network_alone"] = metrics["accuracy_network_alone"]
        save_seed("imdb", "IMDB, train 25k (10% held out for early stopping) / test 25k, accuracy", IMDB_OVERRIDES,
                  seed, figures)


def benchmark_imdb_pretrain():
    """Per seed: the IMDB recipe started from a pretrained BiLM, then the same seed from scratch, in one run."""
    task = "IMDB, train 25k / test 25k, accuracy: started from a BiLM pretrained on the training reviews, against from scratch"
    overrides = [*IMDB_OVERRIDES, *PRETRAIN_OVERRIDES]
    for seed in SEEDS:
        metrics, seconds = run_recipe(overrides, seed, f"runs/benchmarks/imdb-pretrain-seed{seed}-{int(time.time())}")
        pretraining = metrics["pretraining"]
        figures = {
            "pretrained": metrics["accuracy"],
            "pretrained_network_alone": metrics["accuracy_network_alone"],
            "pretrained_seconds": seconds,
            "pretraining_seconds": pretraining["seconds"],
            "bilm_dev_perplexity": (pretraining["val_forward_perplexity"] + pretraining["val_backward_perplexity"]) / 2,
        }
        print(f"seed {seed}: pretrained {metrics['accuracy']:.4f}")
        save_seed("imdb_pretrain", task, overrides, seed, figures)  # In case of a cut.
        metrics, seconds = run_recipe(IMDB_OVERRIDES, seed, f"runs/benchmarks/imdb-seed{seed}-{int(time.time())}")
        print(f"seed {seed}: from scratch {metrics['accuracy']:.4f}")
        figures.update(scratch=metrics["accuracy"], scratch_network_alone=metrics["accuracy_network_alone"],
                       scratch_seconds=seconds, gain=figures["pretrained"] - metrics["accuracy"])
        save_seed("imdb_pretrain", task, overrides, seed, figures)


def benchmark_throughput(max_length=800, batch_size=32, repeats=3, examples=6000):
    """Training tokens/s of the IMDB model: seqkit's bucketed tf.data vs padded-to-max numpy (keras-io style).

    Both feed the same model (same config, same weights at the start) the same
    `examples` reviews truncated to `max_length` tokens, for one epoch, repeated.
    """
    import keras

    import seqkit

    recipe = load_recipe()
    config = recipe.config_lib.parse_args(recipe.Config(), IMDB_OVERRIDES)
    texts, labels = seqkit.datasets.load_imdb()["train"]
    rng = np.random.default_rng(0)
    keep = rng.permutation(len(texts))[:examples]
    texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
    tokenizer = seqkit.WordTokenizer()
    vocabulary = seqkit.Vocabulary.build(tokenizer.iter_tokenize(texts), max_size=config.max_vocabulary)
    preprocessor = seqkit.TextPreprocessor(tokenizer, vocabulary, max_length=max_length)
    targets = seqkit.LabelEncoder.fit(labels).encode(labels)
    real_tokens = recipe.count_tokens(preprocessor, texts)

    bucketed = seqkit.make_dataset(texts, targets, preprocessor=preprocessor, batch_size=batch_size, shuffle=True, seed=0)
    padded = keras.utils.pad_sequences(
        [ids for ids in preprocessor.ragged_ids(texts).to_list()], maxlen=max_length, padding="post", truncating="post"
    )

    def model():
        seqkit.set_seed(0)
        built = seqkit.build_classifier(
            vocabulary.size, embedding_dim=config.embedding_dim, units=config.units, bidirectional=True,
            pooling=config.pooling, ngram_dim=config.ngram_dim, embedding_dropout=config.embedding_dropout,
        )
        return seqkit.compile_classifier(built)

    results = {}
    for name, fit in (
        ("seqkit_bucketed", lambda m: m.fit(bucketed, epochs=1, verbose=0, shuffle=False)),
        ("padded_numpy", lambda m: m.fit(padded, targets, batch_size=batch_size, epochs=1, verbose=0)),
    ):
        trained = model()
        fit(trained)  # Warm-up epoch: tracing, dataset cache.
        seconds = []
        for _ in range(repeats):
            start = time.time()
            fit(trained)
            seconds.append(time.time() - start)
        results[name] = {"epoch_seconds": summarize(seconds), "tokens_per_second": summarize([real_tokens / s for s in seconds])}
        print(name, results[name]["tokens_per_second"]["mean"])
    speedups = [p / b for p, b in zip(results["padded_numpy"]["epoch_seconds"]["values"], results["seqkit_bucketed"]["epoch_seconds"]["values"])]
    return {
        "task": f"IMDB model training throughput, {examples} reviews truncated to {max_length} tokens, batch {batch_size}",
        "command": "python benchmarks/sentiment.py throughput",
        "real_tokens_per_epoch": real_tokens,
        "padded_tokens_per_epoch": int(padded.size),
        **results,
        "speedup": summarize(speedups),
    }


# === The README tables ===

BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def percent(summary):
    if len(set(summary["values"])) == 1:  # One seed, or a baseline that does not depend on the seed.
        return f"{100 * summary['mean']:.2f}"
    return f"{100 * summary['mean']:.2f} ± {100 * summary['std']:.2f}"


def render_tables():
    rows = []
    for task in ("mr", "imdb"):
        path = RESULTS / f"{task}.json"
        if path.exists():
            result = json.loads(path.read_text())
            rows.append(
                f"| {task.upper()} | {percent(result['baseline'])} ({result['baseline_seconds']['mean']:.0f} s) | "
                f"{percent(result['seqkit'])}, {len(result['seqkit']['values'])} seed(s) "
                f"({result['seqkit_seconds']['mean'] / 60:.1f} min per seed)"
                + (f"; the network alone, before stacking: {percent(result['seqkit_network_alone'])}"
                   if "seqkit_network_alone" in result else "")
                + f" | `{result['command']}`, i.e. `{result['recipe_command']}` | {result['machine']['date']} |"
            )
    lines = []
    if rows:
        lines += [
            "| dataset | TF-IDF 1-2-gram + LR (time) | seqkit recipe, mean ± std over seeds | command | date |",
            "|---|---|---|---|---|",
            *rows,
            "",
        ]
    path = RESULTS / "throughput.json"
    if path.exists():
        result = json.loads(path.read_text())
        b, p = result["seqkit_bucketed"], result["padded_numpy"]
        lines += [
            f"Throughput ({result['task']}; `{result['command']}`, {result['machine']['date']}):",
            "",
            "| input pipeline | training tokens/s | epoch time (s) |",
            "|---|---|---|",
            f"| seqkit `make_dataset` (length buckets) | {b['tokens_per_second']['mean']:,.0f} ± {b['tokens_per_second']['std']:,.0f} | {b['epoch_seconds']['mean']:.1f} |",
            f"| padded-to-max numpy arrays (keras-io style) | {p['tokens_per_second']['mean']:,.0f} ± {p['tokens_per_second']['std']:,.0f} | {p['epoch_seconds']['mean']:.1f} |",
            f"| **speed-up** | **{result['speedup']['mean']:.2f}× ± {result['speedup']['std']:.2f}** | |",
            "",
            f"Padding to the max length feeds {result['padded_tokens_per_epoch']:,} token slots per epoch for "
            f"{result['real_tokens_per_epoch']:,} real tokens.",
            "",
        ]
    machines = {json.loads(p.read_text()).get("machine", {}).get("cpu") for p in RESULTS.glob("*.json")} - {None}
    if machines:
        lines.append(f"Hardware: {', '.join(sorted(machines))}; 2 cores, CPU only.")
    write_section(BEGIN, END, lines)
    render_pretrain_table()


def render_pretrain_table():
    path = RESULTS / "imdb_pretrain.json"
    if not path.exists():
        return
    result = json.loads(path.read_text())

    def cell(key, scale=100, digits=2):
        if key not in result:
            return "–"
        summary = result[key]
        text = f"{scale * summary['mean']:.{digits}f}"
        if len(summary["values"]) > 1:
            text += f" ± {scale * summary['std']:.{digits}f}"
        return f"{text} ({len(summary['values'])} seed(s))"

    lines = [
        "| | stacked test accuracy | network alone | minutes per run |",
        "|---|---|---|---|",
        f"| started from the BiLM | {cell('pretrained')} | {cell('pretrained_network_alone')} | "
        f"{cell('pretrained_seconds', 1 / 60, 1)} |",
        f"| from scratch, same seeds | {cell('scratch')} | {cell('scratch_network_alone')} | {cell('scratch_seconds', 1 / 60, 1)} |",
        f"| gain (pretrained − scratch, per seed) | {cell('gain')} | | |",
        "",
        f"Pretraining {cell('pretraining_seconds', 1 / 60, 1)} minutes, BiLM dev perplexity (mean of the two directions) "
        f"{cell('bilm_dev_perplexity', 1, 1)}. Per seed: "
        + "; ".join(
            f"{seed}: {100 * run['pretrained']:.2f}" + (f" vs {100 * run['scratch']:.2f}" if "scratch" in run else "")
            for seed, run in sorted(result["per_seed"].items(), key=lambda item: int(item[0]))
        )
        + f". `{result['command']}`, i.e. `{result['recipe_command']}` against the same without the last three "
        f"options; {', '.join(sorted({run['date'] for run in result['per_seed'].values()}))}, {result['machine']['cpu']}.",
    ]
    write_section("<!-- pretrain:begin -->", "<!-- pretrain:end -->", lines)


def write_section(begin_marker, end_marker, lines):
    """Replaces what lies between two markers of benchmarks/README.md with `lines` (nothing if absent)."""
    readme = HERE / "README.md"
    text = readme.read_text()
    if begin_marker not in text or end_marker not in text:
        return
    begin, end = text.index(begin_marker) + len(begin_marker), text.index(end_marker)
    readme.write_text(text[:begin] + "\n" + "\n".join(lines) + "\n" + text[end:])


def command_line(argv, tasks, run, render, doc):
    """A benchmark's `main`: `argv` is one of `tasks` (run it, then `render` the tables) or `table` (render only)."""
    if len(argv) != 1 or argv[0] not in (*tasks, "table"):
        print(doc)
        return 2
    if argv[0] != "table":
        run(argv[0])
    render()
    return 0


def main(argv):
    tasks = {"mr": benchmark_mr, "imdb": benchmark_imdb, "imdb_pretrain": benchmark_imdb_pretrain,
             "throughput": benchmark_throughput}
    if len(argv) != 1 or argv[0] not in (*tasks, "table"):
        print(__doc__)
        return 2
    if argv[0] == "throughput":
        save("throughput", benchmark_throughput())
    elif argv[0] in tasks:
        tasks[argv[0]]()  # Saves after each seed.
    render_tables()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
