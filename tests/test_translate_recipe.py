"""The translation recipe on a slice of Anki: the leak-free split, user pair files, export, and bad input."""

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import load_recipe

SERVE_SCRIPT = """
import json, sys
sys.modules["seqkit"] = None
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
texts = tf.constant(json.loads(sys.argv[2]))
output = model.signatures["serving_default"](text=texts)["output"].numpy().tolist()
attention = model.signatures["attention"](text=texts)["attention"]
print(json.dumps({"output": [o.decode() for o in output], "attention_shape": list(attention.shape)}))
"""


@pytest.fixture(scope="module")
def translate():
    return load_recipe("translate")


def test_read_pairs_and_group_split(tmp_path):
    from seqkit.data import DataError, readers, splits

    path = tmp_path / "pairs.tsv"
    path.write_text("Go.\tVe.\nGo.\tVete.\n\nHi.\tHola.\tCC-BY\n", encoding="utf-8")
    assert readers.read_pairs(path) == (["Go.", "Go.", "Hi."], ["Ve.", "Vete.", "Hola."])
    path.write_text("Go.\tVe.\nno tab here\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"pairs.tsv, line 2: .*'no tab here'"):
        readers.read_pairs(path)
    groups = ["a"] * 5 + ["b"] * 3 + list("cdefghij")
    train, test = splits.group_split(groups, test_size=0.3, seed=1)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(len(groups)))
    assert not {groups[i] for i in train} & {groups[i] for i in test}


def test_quick_mode_on_anki_slice_splits_without_leaks_and_exports(translate, shared_data, tmp_path):
    code = translate.main(["--quick", "--max-pairs=3000", "--epochs=1", f"--data-dir={shared_data / 'anki-spa-eng'}",
                           f"--workdir={tmp_path / 'run'}", f"--export-dir={tmp_path / 'exports'}", "--num-beams=2"])
    assert code == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["num_train"] + metrics["num_dev"] + metrics["num_test"] == 3000
    assert metrics["test_sources_seen_in_training"] == 0  # Translations of one sentence share a side.
    # One epoch on 2,700 pairs teaches little (outputs may be empty); the scores must still be sacrebleu's.
    assert 0.0 <= metrics["bleu"] <= 100.0 and 0.0 <= metrics["chrf"] <= 100.0
    assert metrics["bleu_signature"].startswith("BLEU = ")
    # Beam search is also compared with greedy decoding, and both speeds are reported.
    assert 0.0 <= metrics["greedy_bleu"] <= 100.0 and metrics["greedy_sentences_per_second"] > 0
    assert metrics["train_target_tokens_per_second"] > 0 and metrics["test_sentences_per_second"] > 0
    for name in ["learning_curve.png"] + metrics["plots"]:
        assert (tmp_path / "run" / name).read_bytes()[:4] == b"\x89PNG"
    export = tmp_path / "exports" / "translate" / "1"
    texts = ["I am hungry.", "", "¿Qué? 🙂 \x00", "word " * 300]
    result = subprocess.run([sys.executable, "-c", SERVE_SCRIPT, str(export), json.dumps(texts)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert all(isinstance(text, str) for text in served["output"]) and served["output"][1] == ""
    assert served["attention_shape"][:2] == [4, 50] and served["attention_shape"][2] == 40  # Sources cut at 40 words.


@pytest.mark.slow  # Default-run budget (10 min on 2 cores); `pytest -m slow` runs it.
def test_user_pair_files_with_dev_and_test(translate, shared_data, tmp_path):
    from seqkit.data import readers

    sources, targets = readers.read_pairs(shared_data / "anki-spa-eng" / "spa.txt")
    rows = [f"{t}\t{s}" for s, t in zip(sources[5000:6200], targets[5000:6200])]  # Spanish<TAB>English.
    for name, part in (("train.tsv", rows[:1000]), ("dev.tsv", rows[1000:1100]), ("test.tsv", rows[1100:])):
        (tmp_path / name).write_text("\n".join(part) + "\n", encoding="utf-8")
    code = translate.main([f"--pairs={tmp_path / 'train.tsv'}", f"--dev={tmp_path / 'dev.tsv'}",
                           f"--test={tmp_path / 'test.tsv'}", "--reverse", "--epochs=1", "--units=16",
                           "--embedding-dim=16", "--attention-units=16", "--num-beams=1", "--samples=Hola.",
                           f"--workdir={tmp_path / 'run'}", "--no-export"])
    assert code == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert (metrics["num_train"], metrics["num_dev"], metrics["num_test"]) == (1000, 100, 100)
    assert metrics["examples"][0]["reference"] == targets[6100]  # --reverse: the first column, Spanish, is the target.


@pytest.mark.parametrize("arguments,expected", [
    (["--attention=luong_dot"], "--attention=luong_general"),
    (["--test-fraction=0.7"], "--test-fraction must be in (0, 0.5)"),
    (["--dev=dev.tsv"], "--dev and --test go with --pairs"),
    (["--pairs=missing.tsv"], "missing.tsv"),
    (["--pairs=pairs.tsv", "--min-freq=2"], "pairs.tsv (source side): no word occurs at least --min-freq=2 times"),
])
def test_bad_options_are_clear_errors(translate, tmp_path, capsys, arguments, expected, monkeypatch):
    monkeypatch.chdir(tmp_path)  # Relative file names, so that the error's file name is the one given.
    (tmp_path / "pairs.tsv").write_text("".join(f"word{i}\tpalabra{i}\n" for i in range(60)), encoding="utf-8")
    code = translate.main([*arguments, f"--workdir={tmp_path / 'run'}", f"--export-dir={tmp_path / 'x'}"])
    error = capsys.readouterr().err
    assert code == 2 and error.startswith("error: ") and expected in error and "Traceback" not in error
    assert not (tmp_path / "x").exists()
