"""The `seqkit` command: recipes, predict and evaluate on exports, datasets, config capture."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import seqkit
from conftest import REPO, TAGGED_SENTENCES
from seqkit import cli

SENTENCES = TAGGED_SENTENCES


@pytest.fixture(scope="module")
def exports(tiny_exports):
    return tiny_exports


def run_cli(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# === Datasets ===


def test_datasets_list_and_info(capsys, shared_data):
    code, out, _ = run_cli(capsys, "datasets", "list")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert {"mr", "imdb", "conll2003", "tinyshakespeare"} <= set(names)
    code, out, _ = run_cli(capsys, "datasets", "info", "conll2003")
    assert code == 0
    info = json.loads(out)
    assert info["task"] == "tagging" and info["splits"]["train"] > 14000
    assert info["found_at"] and Path(info["found_at"]).is_dir()  # Found under SEQKIT_DATA_DIR, not downloaded.


@pytest.mark.parametrize("argv,fragment", [
    (["datasets", "info", "no-such-set"], "Unknown dataset 'no-such-set'"),
    (["datasets", "remove", "mr"], "Expected `seqkit datasets list`"),
    (["train", "no-such-recipe"], "Unknown recipe 'no-such-recipe'"),
    (["predict", "/nonexistent/export", "hello"], "is not a SavedModel folder"),
    (["predict", "saved_models/dates/1"], "`seqkit predict saved_models/dates/1` needs at least one text"),
    (["predict", "saved_models/dates/1", "--json"], "needs at least one text"),
    (["frobnicate"], "Cannot read the command"),
])
def test_bad_commands_end_with_one_error_line(capsys, argv, fragment):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert fragment in err, err


# === predict ===


def test_predict_prints_what_the_signature_returns(capsys, exports):
    loaded = tf.saved_model.load(str(exports["classifier"]))
    texts = ["a good film", "bad plot", ""]
    served = loaded.signatures["serving_default"](text=tf.constant(texts))
    code, out, _ = run_cli(capsys, "predict", exports["classifier"], *texts, "--json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["input"] for row in rows] == texts
    assert [row["label"] for row in rows] == [label.decode() for label in served["labels"].numpy()]
    assert np.allclose([row["probabilities"]["pos"] for row in rows], served["probabilities"].numpy()[:, 1])

    code, out, _ = run_cli(capsys, "predict", exports["tagger"], "Alice went to Rome .")
    assert code == 0
    tokens_and_tags, entities = out.splitlines()
    assert [pair.split("/")[0] for pair in tokens_and_tags.split()] == ["Alice", "went", "to", "Rome", "."]
    assert entities.startswith("  ")

    code, out, _ = run_cli(capsys, "predict", exports["seq2seq"], "03/03/98", "--json")
    served = tf.saved_model.load(str(exports["seq2seq"])).signatures["serving_default"](text=tf.constant(["03/03/98"]))
    assert json.loads(out)["output"] == served["output"].numpy()[0].decode()


def test_the_console_script_runs_in_a_fresh_process(exports):
    script = Path(sys.executable).with_name("seqkit")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "seqkit.cli"]
    result = subprocess.run([*command, "predict", str(exports["lm"]), "abc", ""], capture_output=True, text=True,
                            timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("abc")  # The prompt, continued.


# === evaluate on an export ===


def test_evaluate_classifier_scores_a_table_against_known_labels(capsys, exports, tmp_path):
    texts = ["a good film", "bad plot", "the plot", "good", "a bad film", "film"]
    predicted = [json.loads(line)["label"] for line in
                 run_cli(capsys, "predict", exports["classifier"], *texts, "--json")[1].splitlines()]
    flip = {"pos": "neg", "neg": "pos"}
    gold = predicted[:4] + [flip[label] for label in predicted[4:]]  # 4 of 6 agree.
    lines = ["review,sentiment"] + [f"{text},{label}" for text, label in zip(texts, gold)]
    (tmp_path / "test.csv").write_text("\n".join(lines) + "\n")
    code, out, _ = run_cli(capsys, "evaluate", exports["classifier"], tmp_path / "test.csv",
                           "--text-column=review", "--label-column", "sentiment")
    assert code == 0
    metrics = json.loads(out)
    assert metrics["examples"] == 6 and metrics["accuracy"] == pytest.approx(4 / 6)

    (tmp_path / "odd.csv").write_text("review,sentiment\ngood,meh\n")
    code, _, err = run_cli(capsys, "evaluate", exports["classifier"], tmp_path / "odd.csv", "--text-column=review",
                           "--label-column=sentiment")
    assert code == 2 and "labels the model does not know: ['meh']" in err


def test_evaluate_tagger_gives_f1_one_on_its_own_tags_and_less_on_changed_ones(capsys, exports, tmp_path):
    function = tf.saved_model.load(str(exports["tagger"])).signatures["tag_tokens"]
    outputs = function(tokens=tf.ragged.constant(SENTENCES).to_tensor(""))
    predicted = [[tag.decode() for tag in row[:length]] for row, length in
                 zip(outputs["tags"].numpy(), outputs["lengths"].numpy())]

    def write(name, rows):
        blocks = ["\n".join(f"{token} {tag}" for token, tag in zip(tokens, tags)) for tokens, tags in zip(SENTENCES, rows)]
        (tmp_path / name).write_text("\n\n".join(blocks) + "\n")
        return tmp_path / name

    # The CRF's constrained Viterbi path is well-formed BIO, so the file reads as gold.
    code, out, err = run_cli(capsys, "evaluate", exports["tagger"], write("same.conll", predicted))
    assert code == 0, err
    assert json.loads(out)["sentences"] == 3
    if any(tag != "O" for row in predicted for tag in row):  # seqeval's F1 is 0 with no entity at all.
        assert json.loads(out)["f1"] == pytest.approx(1.0)
    gold = [["B-PER", "O", "O", "B-LOC", "O"], ["B-PER", "O", "O", "O"], ["B-LOC", "O", "B-LOC", "O", "O"]]
    metrics = json.loads(run_cli(capsys, "evaluate", exports["tagger"], write("gold.conll", gold))[1])
    from seqeval.metrics import f1_score

    assert metrics["f1"] == pytest.approx(f1_score(gold, predicted))
    code, _, err = run_cli(capsys, "evaluate", exports["tagger"], write("gold.conll", gold), "--text-column=x")
    assert code == 2 and "Unknown option --text-column" in err and "--token-column" in err


def test_evaluate_language_model_sums_the_score_signature(capsys, exports, tmp_path):
    (tmp_path / "text.txt").write_text("abc\nhead bag\n\nfade\n")
    code, out, _ = run_cli(capsys, "evaluate", exports["lm"], tmp_path / "text.txt")
    assert code == 0
    metrics = json.loads(out)
    scored = tf.saved_model.load(str(exports["lm"])).signatures["score"](text=tf.constant(["abc", "head bag", "fade"]))
    nats = -float(scored["log_prob"].numpy().sum())
    assert metrics["texts"] == 3 and metrics["chars"] == int(scored["num_tokens"].numpy().sum())
    assert metrics["nats_per_char"] == pytest.approx(nats / metrics["chars"], rel=1e-5)
    assert metrics["perplexity"] == pytest.approx(np.exp(metrics["nats_per_char"]), rel=1e-5)


def test_evaluate_seq2seq_exact_match_and_bleu_on_known_outputs(capsys, exports, tmp_path):
    sources = ["03/03/98", "1/2/2000", "12/12/12", "7/7/77"]
    outputs = [json.loads(line)["output"] for line in
               run_cli(capsys, "predict", exports["seq2seq"], *sources, "--json")[1].splitlines()]
    references = outputs[:2] + ["1999-01-01", "2000-02-02"]
    (tmp_path / "pairs.tsv").write_text("".join(f"{s}\t{r}\n" for s, r in zip(sources, references)))
    code, out, _ = run_cli(capsys, "evaluate", exports["seq2seq"], tmp_path / "pairs.tsv")
    assert code == 0
    metrics = json.loads(out)
    assert metrics["pairs"] == 4 and metrics["exact_match"] == pytest.approx(0.5)
    assert 0.0 <= metrics["bleu"] <= 100.0 and 0.0 <= metrics["chrf"] <= 100.0

    (tmp_path / "bad.tsv").write_text("03/03/98\t1998-03-03\nno tab here\n")
    code, _, err = run_cli(capsys, "evaluate", exports["seq2seq"], tmp_path / "bad.tsv")
    assert code == 2 and "bad.tsv, line 2" in err


# === Recipes through the command, and the config they record ===


@pytest.mark.slow  # About a minute or more on 2 cores; `pytest -m slow` runs it.
def test_train_records_its_config_and_the_config_reproduces_the_run(capsys, tmp_path):
    tiny = ["--quick", "--num-train=300", "--num-dev=32", "--num-test=32", "--epochs=1", "--units=8",
            "--embedding-dim=4", "--attention-units=4", "--num-plots=0", "--num-beams=1", "--seed=3"]
    code, _, err = run_cli(capsys, "train", "dates", *tiny, f"--workdir={tmp_path / 'run'}",
                           f"--export-dir={tmp_path / 'exports'}")
    assert code == 0, err
    recorded = json.loads((tmp_path / "run" / "config.json").read_text())
    assert recorded["seed"] == 3 and recorded["num_train"] == 300 and recorded["units"] == 8
    first = json.loads((tmp_path / "run" / "metrics.json").read_text())

    # The same config again, through `evaluate` (which never exports): a new run folder, the same figures.
    code, _, err = run_cli(capsys, "evaluate", "dates", f"--config={tmp_path / 'run' / 'config.json'}")
    assert code == 0, err
    again = json.loads((tmp_path / "run-2" / "metrics.json").read_text())
    assert again["config"] == {**first["config"], "export": False}
    assert again["history"]["loss"] == pytest.approx(first["history"]["loss"], rel=1e-4)
    assert sorted(p.name for p in (tmp_path / "exports" / "dates").iterdir()) == ["1"]  # Only the first exported.


def test_recipes_are_importable_from_the_installed_package():
    from seqkit.cli import load_recipe

    module = load_recipe("dates")
    assert callable(module.main) and Path(module.__file__).resolve() == REPO / "recipes" / "dates.py"
