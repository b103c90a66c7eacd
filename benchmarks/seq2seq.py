"""Encoder-decoder benchmarks: attention against none, beam against greedy, on dates and spa-eng.

Usage (from the repository root, with SEQKIT_DATA_DIR pointing at the datasets):

    python benchmarks/seq2seq.py dates       # recipes/dates.py, Bahdanau vs none, seeds 0-2
    python benchmarks/seq2seq.py translate   # recipes/translate.py, Bahdanau vs none, seeds 0-2
    python benchmarks/seq2seq.py table       # regenerate the table in benchmarks/README.md

`SEQKIT_BENCHMARK_SEEDS=1` runs fewer seeds (`SEQKIT_BENCHMARK_SEEDS=1,2` names them: two processes can run
different seeds at once; `SEQKIT_BENCHMARK_SHARED=1` marks their throughput as measured on shared cores, which
the table's throughput columns leave out), `SEQKIT_BENCHMARK_ATTENTIONS=bahdanau` one side; `SEQKIT_TRANSLATE_OVERRIDES="--max-pairs=40000 ..."`
and `SEQKIT_DATES_OVERRIDES="--quick"` replace the runs' extra options. Each (task, attention) writes
`benchmarks/results/seq2seq_<task>_<attention>.json`, keyed by the recipe command (one table per set of
options), seed by seed, so a cut run keeps what it finished and runs with other options are kept too.
"""

import datetime
import json
import os
import shlex
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from sentiment import RESULTS, command_line, load_recipe, machine, write_section  # noqa: E402

BEGIN, END = "<!-- seq2seq:begin -->", "<!-- seq2seq:end -->"
ATTENTIONS = ("bahdanau", "none")
OVERRIDES = {
    "dates": shlex.split(os.environ.get("SEQKIT_DATES_OVERRIDES", "")),
    # A 40k-pair slice, so that a seed's two runs take about an hour on a 2-core CPU. (20k pairs and 6 epochs
    # were too few updates: Bahdanau reached 1.62 BLEU on seed 0, so that comparison would measure nothing.)
    "translate": shlex.split(os.environ.get(
        "SEQKIT_TRANSLATE_OVERRIDES", "--max-pairs=40000 --max-vocabulary=8000 --epochs=10"
    )),
}
FIGURES = {
    "dates": ("exact_match", "character_accuracy", "train_target_tokens_per_second", "test_dates_per_second",
              "epochs_run", "train_seconds"),
    "translate": ("bleu", "chrf", "greedy_bleu", "greedy_chrf", "train_target_tokens_per_second",
                  "test_sentences_per_second", "greedy_sentences_per_second", "epochs_run", "train_seconds",
                  "num_train", "num_test"),
}


def recipe_command(task, attention):
    return " ".join(["python", f"recipes/{task}.py", *OVERRIDES[task], f"--attention={attention}", "--seed=S"])


def seeds_to_run():
    """`SEQKIT_BENCHMARK_SEEDS`: a count ("3": seeds 0-2) or a comma-separated list of seeds ("1,2")."""
    value = os.environ.get("SEQKIT_BENCHMARK_SEEDS", "3")
    return [int(seed) for seed in value.split(",")] if "," in value else list(range(int(value)))


def run(task):
    shared = os.environ.get("SEQKIT_BENCHMARK_SHARED") == "1"
    for seed in seeds_to_run():
        for attention in os.environ.get("SEQKIT_BENCHMARK_ATTENTIONS", ",".join(ATTENTIONS)).split(","):
            path = RESULTS / f"seq2seq_{task}_{attention}.json"
            command = recipe_command(task, attention)
            if str(seed) in read_results(path).get(command, {}).get("per_seed", {}):
                continue
            recipe = load_recipe(task)
            config = recipe.config_lib.parse_args(recipe.Config(), [
                *OVERRIDES[task], f"--attention={attention}", f"--seed={seed}",
                f"--workdir=runs/benchmarks/{task}-{attention}-{seed}", "--no-export",
            ])
            metrics = recipe.run(config)
            # Read again: another process may have added a seed to the file during this run.
            runs = read_results(path)
            result = runs.setdefault(command, {"per_seed": {}})
            result["per_seed"][str(seed)] = {
                **{key: metrics[key] for key in FIGURES[task] if key in metrics},
                "date": datetime.date.today().isoformat(),
                **({"shared_cores": True} if shared else {}),
            }
            result["machine"] = machine()
            RESULTS.mkdir(exist_ok=True)
            temporary = path.with_name(f".{path.name}.{os.getpid()}")
            temporary.write_text(json.dumps(runs, indent=2))
            os.replace(temporary, path)
            render_table()


def read_results(path):
    return json.loads(path.read_text()) if path.exists() else {}


def summary(values, scale=1.0, digits=2):
    values = [v * scale for v in values]
    if len(values) == 1:
        return f"{values[0]:.{digits}f} (1 seed)"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.pstdev(values):.{digits}f} ({len(values)} seeds)"


def render_table():
    lines = []
    for task in ("dates", "translate"):
        # One table per set of options: {options: {attention: (command, result)}}, in the files' order.
        tables = {}
        for attention in ATTENTIONS:
            path = RESULTS / f"seq2seq_{task}_{attention}.json"
            for command, result in read_results(path).items():
                if result["per_seed"]:
                    options = command.replace(f" --attention={attention}", "")
                    tables.setdefault(options, {})[attention] = (command, result)
        for by_attention in tables.values():
            lines += table(task, by_attention)
    write_section(BEGIN, END, lines)


def table(task, by_attention):
    rows = []
    for attention, (command, result) in by_attention.items():
        seeds = list(result["per_seed"].values())

        def column(key, scale=1.0, digits=2):
            values = [seed[key] for seed in seeds if key in seed]
            return summary(values, scale, digits) if values else ""

        def mean(key):
            # Throughput only from runs that had the cores to themselves.
            values = [seed[key] for seed in seeds if not seed.get("shared_cores")]
            return f"{statistics.mean(values):,.0f}" if values else ""

        if task == "dates":
            rows.append(
                f"| {attention} | {column('exact_match', 100)} | {column('character_accuracy', 100)} | "
                f"{mean('train_target_tokens_per_second')} | {mean('test_dates_per_second')} | `{command}` |"
            )
        else:
            rows.append(
                f"| {attention} | {column('bleu')} | {column('greedy_bleu')} | {column('chrf')} | "
                f"{mean('train_target_tokens_per_second')} | {mean('test_sentences_per_second')} | "
                f"{mean('greedy_sentences_per_second')} | `{command}` |"
            )
        date, cpu = result["machine"]["date"], result["machine"]["cpu"]
    if task == "dates":
        header = ["| attention | test exact match % (beam 4) | character accuracy % | train chars/s | "
                  "decode dates/s | command |", "|---|---|---|---|---|---|"]
    else:
        header = ["| attention | test BLEU (beam 4) | test BLEU (greedy) | chrF (beam 4) | train target tokens/s | "
                  "decode sent/s (beam 4) | decode sent/s (greedy) | command |", "|---|---|---|---|---|---|---|---|"]
    return header + rows + ["", f"Runs up to {date} on {cpu}; 2 cores, CPU only.", ""]


def main(argv):
    return command_line(argv, ("dates", "translate"), run, render_table, __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
