"""Serving latency of exported models: one string per request, sequential and from 8 threads.

Usage (from the repository root, with SEQKIT_DATA_DIR pointing at the datasets):

    python benchmarks/serving.py run      # trains the sentiment and ner recipes' quick modes, exports, measures
    python benchmarks/serving.py table    # regenerate the table in benchmarks/README.md

The exports are the recipes' own (`--quick`, so the run takes minutes; the serving
graph is the same as a full run's, only the weights differ). Each is loaded with
plain `tf.saved_model.load` and called through `serving_default` with one test
sentence per request: 1,000 sequential requests after 50 warm-up ones, then 8
threads x 500 requests. Latency is per request (p50, p99); errors must be 0 and
every threaded output must equal the sequential one.
"""

import datetime
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from sentiment import RESULTS, command_line, load_recipe, machine, write_section  # noqa: E402

BEGIN, END = "<!-- serving:begin -->", "<!-- serving:end -->"
SEQUENTIAL, THREADS, PER_THREAD, WARM_UP = 1000, 8, 500, 50


def percentile(values, q):
    return float(np.percentile(np.asarray(values) * 1000.0, q))  # milliseconds


def measure(path, texts):
    import tensorflow as tf

    serve = tf.saved_model.load(str(path)).signatures["serving_default"]

    def call(text):
        return {key: value.numpy() for key, value in serve(text=tf.constant([text])).items()}

    for text in texts[:WARM_UP]:
        call(text)
    sequential, expected = [], {}
    for index in range(SEQUENTIAL):
        text = texts[index % len(texts)]
        start = time.perf_counter()
        expected[text] = call(text)
        sequential.append(time.perf_counter() - start)

    threaded, errors, mismatches = [], [], []

    def client(number):
        for request in range(PER_THREAD):
            text = texts[(number * 31 + request) % min(len(texts), SEQUENTIAL)]
            try:
                start = time.perf_counter()
                outputs = call(text)
                threaded.append(time.perf_counter() - start)
                if any(not np.array_equal(outputs[k], v) for k, v in expected[text].items()):
                    mismatches.append(text)
            except Exception as error:  # noqa: BLE001 - counted and reported
                errors.append(repr(error))

    start = time.perf_counter()
    workers = [threading.Thread(target=client, args=(n,)) for n in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - start
    return {
        "sequential": {"requests": SEQUENTIAL, "p50_ms": percentile(sequential, 50), "p99_ms": percentile(sequential, 99),
                       "mean_ms": 1000 * statistics.mean(sequential)},
        "threaded": {"threads": THREADS, "requests": THREADS * PER_THREAD, "p50_ms": percentile(threaded, 50),
                     "p99_ms": percentile(threaded, 99), "requests_per_second": THREADS * PER_THREAD / wall,
                     "errors": len(errors), "mismatches": len(mismatches)},
    }


def run(_task):
    import seqkit

    root = Path(tempfile.mkdtemp(prefix="seqkit-serving-"))
    results = {"machine": machine(), "date": datetime.date.today().isoformat(), "models": {}}
    texts = {"sentiment": seqkit.datasets.load_mr()["all"][0][:2000],
             "ner": [" ".join(tokens) for tokens in seqkit.datasets.load_conll2003()["test"][0][:2000]]}
    for name in ("sentiment", "ner"):
        recipe = load_recipe(name)
        code = recipe.main(["--quick", f"--workdir={root / 'runs' / name}", f"--export-dir={root / 'exports'}"])
        if code != 0:
            raise RuntimeError(f"the {name} recipe failed with exit code {code}")
        export = next((root / "exports" / name).iterdir())
        results["models"][name] = {"command": f"python recipes/{name}.py --quick", **measure(export, texts[name])}
        print(name, json.dumps(results["models"][name]), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "serving.json").write_text(json.dumps(results, indent=2))


def render_table():
    path = RESULTS / "serving.json"
    if not path.exists():
        return
    result = json.loads(path.read_text())
    lines = [f"`python benchmarks/serving.py run` ({result['date']}, {result['machine']['cpu']}, "
             f"{result['machine']['cores']} cores; one string per request through `serving_default`; "
             "goal: p50 ≤ 5 ms, p99 ≤ 20 ms)", "",
             "| export | sequential p50 | sequential p99 | 8 threads p50 | 8 threads p99 | 8 threads requests/s | "
             "errors | outputs ≠ sequential |", "|---|---|---|---|---|---|---|---|"]
    for name, model in result["models"].items():
        sequential, threaded = model["sequential"], model["threaded"]
        lines.append(f"| {name} (`{model['command']}`) | {sequential['p50_ms']:.2f} ms | {sequential['p99_ms']:.2f} ms | "
                     f"{threaded['p50_ms']:.2f} ms | {threaded['p99_ms']:.2f} ms | {threaded['requests_per_second']:,.0f} | "
                     f"{threaded['errors']} | {threaded['mismatches']} |")
    write_section(BEGIN, END, lines)


if __name__ == "__main__":
    sys.exit(command_line(sys.argv[1:], ("run",), run, render_table, __doc__))
