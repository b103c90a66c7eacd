"""The dates recipe end to end: quick mode (no download), its export served without seqkit, and bad input."""

import json
import subprocess
import sys

import pytest

from conftest import load_recipe

# Loads the export with plain TensorFlow in a fresh process where `import seqkit` fails.
SERVE_SCRIPT = """
import json, sys
sys.modules["seqkit"] = None
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
texts = tf.constant(json.loads(sys.argv[2]))
output = model.signatures["serving_default"](text=texts)["output"].numpy().tolist()
attention = model.signatures["attention"](text=texts)
no_text = tf.constant([], tf.string)
empty_batch = [model.signatures["serving_default"](text=no_text)["output"]]
empty_batch += list(model.signatures["attention"](text=no_text).values())
print(json.dumps({
    "empty_batch_sizes": [int(tensor.shape[0]) for tensor in empty_batch],
    "output": [o.decode() for o in output],
    "attention_shape": list(attention["attention"].shape),
    "row_sums": attention["attention"].numpy().sum(-1).tolist(),
    "source_tokens": [[t.decode() for t in row] for row in attention["source_tokens"].numpy()],
}))
"""


@pytest.fixture(scope="module")
def dates():
    return load_recipe("dates")


def test_quick_mode_trains_plots_and_exports(dates, tmp_path):
    # Quick mode on a smaller slice than its default, to keep the suite short.
    code = dates.main(["--quick", "--num-train=4000", "--epochs=5", "--num-test=200", f"--workdir={tmp_path / 'run'}",
                       f"--export-dir={tmp_path / 'exports'}"])
    assert code == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["num_train"] == 4000 and metrics["num_test"] == 200
    # Chance is ~0 for exact match; 4,000 pairs and 5 epochs reach ~0.9 (seed 0).
    assert metrics["character_accuracy"] > 0.9 and metrics["exact_match"] > 0.5
    assert metrics["train_target_tokens_per_second"] > 0 and metrics["test_dates_per_second"] > 0
    for name in ["learning_curve.png"] + metrics["plots"]:
        assert (tmp_path / "run" / name).read_bytes()[:4] == b"\x89PNG"
    assert len(metrics["plots"]) == 3

    export = tmp_path / "exports" / "dates" / "1"
    # Odd inputs first, then the recipe's first test dates: served without seqkit, they must decode as the
    # recipe's own beam search did in process (metrics.json keeps its first 10 outputs).
    examples = metrics["examples"]
    texts = ["the 3rd of March 1998", "", "🙂 \x00 ¿qué?", "3 mars 1998 " * 200] + [e["source"] for e in examples]
    result = subprocess.run([sys.executable, "-c", SERVE_SCRIPT, str(export), json.dumps(texts)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served["output"][4:] == [e["output"] for e in examples]
    assert sum(e["output"] == e["reference"] for e in examples) >= 5  # Mostly right, as exact match says.
    assert served["output"][1] == ""  # An empty source gives an empty output.
    assert all(isinstance(o, str) for o in served["output"])  # Odd input never crashes.
    batch, output_steps, source_steps = served["attention_shape"]
    assert (batch, output_steps, source_steps) == (len(texts), 12, 64)  # Sources are cut at 64 characters.
    assert served["source_tokens"][0][:3] == ["t", "h", "e"]
    # Each output step's weights sum to 1 until <eos> (then 0); the empty source attends nowhere.
    assert abs(served["row_sums"][0][0] - 1.0) < 1e-4 and served["row_sums"][1] == [0.0] * 12
    assert served["empty_batch_sizes"] == [0] * 5  # An empty batch gives empty outputs in both signatures.


@pytest.mark.parametrize("arguments,expected", [
    (["--attention=dot"], "--attention must be one of"),
    (["--num-train=0"], "--num-train must be >= 1"),
    (["--length-penalty=-1"], "--length-penalty must be >= 0"),
    (["--decoder-initial-state=backward_first", "--no-bidirectional"], "needs a bidirectional encoder"),
    (["--attention=luong_dot"], "--no-bidirectional"),
])
def test_bad_options_are_clear_errors(dates, tmp_path, capsys, arguments, expected):
    code = dates.main([*arguments, "--quick", f"--workdir={tmp_path / 'run'}", f"--export-dir={tmp_path / 'x'}"])
    error = capsys.readouterr().err
    assert code == 2 and error.startswith("error: ") and expected in error and "Traceback" not in error
    assert not (tmp_path / "x").exists()
