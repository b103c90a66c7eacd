"""NER benchmarks: seqkit's BiLSTM-CRF recipe against a sklearn-crfsuite baseline, plus ablations.

Usage (from the repository root, with SEQKIT_DATA_DIR pointing at the datasets):

    python benchmarks/ner.py conll2003     # CoNLL-2003 English test F1, 3 seeds, recipe vs crfsuite
    python benchmarks/ner.py ablations     # CoNLL-2003: softmax instead of CRF; no character features
    python benchmarks/ner.py conll2002     # CoNLL-2002 Spanish test F1, recipe vs crfsuite
    python benchmarks/ner.py bilm          # CoNLL-2003: --bilm (ELMo-style features) against from scratch
    python benchmarks/ner.py bilm_imdb     # the same, the BiLM also reading IMDB's training reviews (6.2 M tokens)
    python benchmarks/ner.py bilm_doc      # --bilm with --document-context=40, against from scratch with it
    python benchmarks/ner.py bilm_refit    # --bilm --refit (the final tagger trains on train+dev), against from scratch
    python benchmarks/ner.py table         # regenerate the NER tables in benchmarks/README.md

`SEQKIT_BENCHMARK_SEEDS=0` runs a subset of the seeds (0,1,2 by default). Each
task writes `benchmarks/results/ner_<task>.json` after every seed (read again
first, so one seed per process can run side by side) and regenerates the tables
from every results file present.
"""

import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from baselines import crfsuite_tagger, sentence_features  # noqa: E402
from sentiment import RESULTS, command_line, load_recipe, machine, summarize, write_section  # noqa: E402

IMDB_TEXT = "runs/bilm_text/imdb_train.txt"
SEEDS = tuple(int(s) for s in os.environ.get("SEQKIT_BENCHMARK_SEEDS", "0,1,2").split(","))

# The recipe configs benchmarked; recipes/ner.py's docstring points here.
CONFIGS = {
    "conll2003": {"crf, patience 8, learning rate halved after 3 flat epochs (default)": ["--dataset=conll2003"]},
    "ablations": {
        "softmax output": ["--dataset=conll2003", "--output=softmax"],
        "no character features": ["--dataset=conll2003", "--char-encoder=none"],
    },
    "conll2002": {"crf (default)": ["--dataset=conll2002-es"]},
    # ELMo-style features from a BiLM pretrained on the train+dev text, against from scratch in the same run.
    "bilm": {
        "crf + BiLM features (--bilm)": ["--dataset=conll2003", "--bilm"],
        "crf, from scratch (same run as --bilm)": ["--dataset=conll2003"],
    },
    # The same with 25x more BiLM text: IMDB's training reviews, labels unused (`bilm_text.py`), sampled softmax.
    "bilm_imdb": {
        "crf + BiLM features, BiLM also on IMDB train text": [
            "--dataset=conll2003", "--bilm", f"--bilm-text={IMDB_TEXT}", "--bilm-sampled=1024", "--bilm-epochs=2",
        ],
        "crf, from scratch (same run as the IMDB-text BiLM)": ["--dataset=conll2003"],
    },
    # Both read a document's neighbouring sentences together (rows of <= 40 tokens); the BiLM learns across
    # sentences too. Rows hold ~2 sentences, so its epochs have half the updates: 10 epochs, not 5.
    "bilm_doc": {
        "crf + BiLM features, document context 40": [
            "--dataset=conll2003", "--bilm", "--document-context=40", "--bilm-epochs=10",
        ],
        "crf, document context 40, from scratch (same run)": ["--dataset=conll2003", "--document-context=40"],
    },
    # After early stopping on dev, a fresh tagger trains on train+dev for the best dev epoch's count and rates.
    "bilm_refit": {
        "crf + BiLM features, refit on train+dev (--bilm --refit)": ["--dataset=conll2003", "--bilm", "--refit"],
        "crf, from scratch, refit on train+dev (--refit)": ["--dataset=conll2003", "--refit"],
    },
}
DATASET = {
    "conll2003": "conll2003", "ablations": "conll2003", "conll2002": "conll2002-es", "bilm": "conll2003",
    "bilm_imdb": "conll2003", "bilm_doc": "conll2003", "bilm_refit": "conll2003",
}
BASELINE_TASKS = ("conll2003", "conll2002")
BEGIN, END = "<!-- ner:begin -->", "<!-- ner:end -->"


def run_baseline(dataset):
    """crfsuite on the same train/test files (tags in BIO); returns scores and timings."""
    import seqkit

    loaders = {"conll2003": seqkit.datasets.load_conll2003, "conll2002-es": seqkit.datasets.load_conll2002_es}
    data = loaders[dataset]()
    train_x = [sentence_features(sentence) for sentence in data["train"][0]]
    tagger = crfsuite_tagger()
    start = time.time()
    tagger.fit(train_x, data["train"][1])
    train_seconds = time.time() - start
    start = time.time()
    predicted = tagger.predict([sentence_features(sentence) for sentence in data["test"][0]])
    decode_seconds = time.time() - start
    scores = seqkit.metrics.entity_scores(data["test"][1], predicted)
    return {
        "f1": scores["f1"],
        "precision": scores["precision"],
        "recall": scores["recall"],
        "train_seconds": round(train_seconds, 1),
        "decode_sentences_per_second": round(len(data["test"][0]) / decode_seconds, 1),
    }


def task_result(task):
    """The task's results so far (an empty run list per config when none), with its recipe commands."""
    path = RESULTS / f"ner_{task}.json"
    result = json.loads(path.read_text()) if path.exists() else {}
    result.update({"task": task, "command": f"python benchmarks/ner.py {task}", "dataset": DATASET[task]})
    for name, overrides in CONFIGS[task].items():
        runs = result.setdefault("configs", {}).setdefault(name, {"recipe_command": "", "runs": {}})
        runs["recipe_command"] = "python recipes/ner.py " + " ".join(overrides) + " --seed=S"
    return result


def run_task(task):
    result = task_result(task)
    if task in BASELINE_TASKS and "baseline" not in result:
        result["baseline"] = run_baseline(DATASET[task])
        print(f"crfsuite baseline: F1 {result['baseline']['f1']:.4f} in {result['baseline']['train_seconds']} s")
        save(task, result)
    if task == "bilm_imdb" and not Path(IMDB_TEXT).exists():
        import bilm_text

        bilm_text.main([IMDB_TEXT])
    for name, overrides in CONFIGS[task].items():
        for seed in SEEDS:
            recipe = load_recipe("ner")
            config = recipe.config_lib.parse_args(
                recipe.Config(),
                [*overrides, f"--seed={seed}", f"--workdir=runs/benchmarks/ner-{task}-{seed}-{int(time.time())}", "--no-export"],
            )
            start = time.time()
            metrics = recipe.run(config)
            print(f"{task} / {name} / seed {seed}: test F1 {metrics['f1']:.4f}")
            result = record_seed(task, name, seed, seed_figures(metrics, time.time() - start))
    return result


def record_seed(task, name, seed, figures):
    """Adds one seed's `figures` to the task's results file, read again first: another process's seeds stay."""
    result = task_result(task)
    result["configs"][name]["runs"][str(seed)] = figures
    save(task, result)
    return result


def seed_figures(metrics, seconds):
    """What the results file keeps of one seed's recipe `metrics`."""
    return {
        **{key: metrics[key] for key in ("bilm", "refit") if key in metrics},
        "f1": metrics["f1"],
        "dev_f1": metrics["dev"]["f1"],
        "per_type_f1": {kind: values["f1"] for kind, values in metrics["test"]["per_type"].items()},
        "epochs_run": metrics["epochs_run"],
        "seconds": round(seconds, 1),
        "train_sentences_per_second": metrics["train_sentences_per_second"],
        "decode_sentences_per_second": metrics["decode_sentences_per_second"],
    }


def save(task, result):
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"ner_{task}.json").write_text(json.dumps({**result, "machine": machine()}, indent=2))
    render_tables()


def _mean_std(runs, key):
    values = [run[key] for run in runs.values()]
    return summarize(values) if values else None


def _percent(summary):
    if summary is None:
        return "–"
    if len(summary["values"]) == 1:
        return f"{100 * summary['mean']:.2f} (1 seed)"
    return f"{100 * summary['mean']:.2f} ± {100 * summary['std']:.2f} ({len(summary['values'])} seeds)"


def render_tables():
    lines = [
        "| data | model | test F1 | dev F1 | train sent/s | decode sent/s | time per run | command |",
        "|---|---|---|---|---|---|---|---|",
    ]
    dates, cpus = set(), set()
    for task in ("conll2003", "ablations", "conll2002", "bilm", "bilm_imdb", "bilm_doc", "bilm_refit"):
        path = RESULTS / f"ner_{task}.json"
        if not path.exists():
            continue
        result = json.loads(path.read_text())
        dates.add(result["machine"]["date"])
        cpus.add(result["machine"]["cpu"])
        data = "CoNLL-2003 en" if result["dataset"] == "conll2003" else "CoNLL-2002 es"
        if "baseline" in result:
            b = result["baseline"]
            lines.append(
                f"| {data} | sklearn-crfsuite, word-shape features | {100 * b['f1']:.2f} | | | "
                f"{b['decode_sentences_per_second']:,.0f} | {b['train_seconds']:.0f} s | `{result['command']}` |"
            )
        for name, config in result.get("configs", {}).items():
            runs = config["runs"]
            if not runs:
                continue
            speed = _mean_std(runs, "train_sentences_per_second")["mean"]
            decode = _mean_std(runs, "decode_sentences_per_second")["mean"]
            minutes = _mean_std(runs, "seconds")["mean"] / 60
            lines.append(
                f"| {data} | seqkit BiLSTM, {name} | {_percent(_mean_std(runs, 'f1'))} | "
                f"{_percent(_mean_std(runs, 'dev_f1'))} | {speed:,.0f} | {decode:,.0f} | {minutes:.1f} min | "
                f"`{config['recipe_command']}` |"
            )
    lines += ["", f"Runs of {', '.join(sorted(dates))} on {', '.join(sorted(cpus))}; 2 cores, CPU only."]
    write_section(BEGIN, END, lines)


def main(argv):
    return command_line(argv, CONFIGS, run_task, render_tables, __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
