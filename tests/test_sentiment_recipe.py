"""The sentiment recipe end to end: quick mode on real data, user files, and bad input."""

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO, load_recipe, record_calls


@pytest.fixture(scope="module")
def sentiment():
    return load_recipe("sentiment")


@pytest.fixture(scope="module")
def mr_files(shared_data, tmp_path_factory):
    """Small CSV/TSV files cut from the real MR sentences, as a user would bring them."""
    from seqkit.data import readers

    texts, labels = readers.read_mr(shared_data / "mr-rt-polarity")
    folder = tmp_path_factory.mktemp("user_files")
    train = list(zip(texts[:400] + texts[-400:], labels[:400] + labels[-400:]))
    test = list(zip(texts[400:500] + texts[-500:-400], labels[400:500] + labels[-500:-400]))
    for name, rows, separator in (("train.csv", train, ","), ("test.tsv", test, "\t")):
        import pandas as pd

        pd.DataFrame(rows, columns=["review", "sentiment"]).to_csv(folder / name, sep=separator, index=False)
    return folder


def test_quick_mode_end_to_end(shared_data, tmp_path):
    """The README's main command: real MR data, trains, evaluates, plots, exports."""
    result = subprocess.run(
        [sys.executable, str(REPO / "recipes" / "sentiment.py"), "--quick", "--epochs=3",
         f"--workdir={tmp_path / 'run'}", f"--export-dir={tmp_path / 'exports'}"],
        capture_output=True, text=True, env={**os.environ, "SEQKIT_DATA_DIR": str(shared_data)}, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "precision" in result.stdout and "accuracy:" in result.stdout
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["accuracy"] > 0.6  # Chance is 0.5; three epochs on 3,000 sentences reach ~0.69 (seed 0).
    assert metrics["num_train"] + metrics["num_dev"] == 3000
    for name in ("confusion_matrix.png", "learning_curve.png"):
        assert (tmp_path / "run" / name).read_bytes()[:4] == b"\x89PNG"
    export = tmp_path / "exports" / "sentiment" / "1"
    assert (export / "saved_model.pb").is_file()
    assert json.loads((export / "metrics.json").read_text())["accuracy"] == metrics["accuracy"]
    assert json.loads((export / "config.json").read_text())["quick"] is True


@pytest.mark.slow  # Default-run budget (10 min on 2 cores); `pytest -m slow` runs it.
def test_user_files_with_stacking(sentiment, mr_files, tmp_path):
    common = ["--text-column=review", "--label-column=sentiment", "--epochs=1", "--units=8", "--embedding-dim=16",
              f"--export-dir={tmp_path / 'exports'}"]
    # The split run also stacks word and character NBSVM (trigrams, small tables) on the dev split.
    code = sentiment.main([f"--train={mr_files / 'train.csv'}", f"--test={mr_files / 'test.tsv'}",
                           f"--workdir={tmp_path / 'split'}", "--stack-nbsvm", "--stack-chars", "--ngram-order=3",
                           "--stack-buckets=50000", "--stack-c=1.0", *common])
    assert code == 0
    metrics = json.loads((tmp_path / "split" / "metrics.json").read_text())
    assert metrics["num_test"] == 200 and metrics["label_names"] == ["neg", "pos"]
    dev = metrics["stacking"]["dev_accuracy"]
    assert set(dev) == {"network", "n-gram logit", "char n-gram logit", "stacked"}
    # NBSVM on 720 real sentences beats a one-epoch, 8-unit BiLSTM on the dev split and gets a positive weight.
    weights = metrics["stacking"]["weights"]
    assert dev["n-gram logit"] > dev["network"] and weights["n-gram logit"] > 0 and weights["char n-gram logit"] > 0
    assert 0.0 <= metrics["accuracy_network_alone"] == metrics["stacking"]["test_accuracy_network_alone"] <= 1.0
    assert sorted(p.name for p in (tmp_path / "exports" / "sentiment").iterdir()) == ["1"]


@pytest.mark.slow  # Default-run budget (10 min on 2 cores); `pytest -m slow` runs it.
def test_user_file_cross_validation(sentiment, mr_files, tmp_path):
    code = sentiment.main([f"--train={mr_files / 'train.csv'}", "--cv-folds=2", f"--workdir={tmp_path / 'cv'}",
                           "--text-column=review", "--label-column=sentiment", "--epochs=1", "--units=8",
                           "--embedding-dim=16", f"--export-dir={tmp_path / 'exports'}"])
    assert code == 0
    metrics = json.loads((tmp_path / "cv" / "metrics.json").read_text())
    assert len(metrics["fold_accuracies"]) == 2
    assert metrics["classification_report"]["macro avg"]["support"] == 800  # Every example predicted once.
    assert sorted(p.name for p in (tmp_path / "exports" / "sentiment").iterdir()) == ["1"]


@pytest.mark.slow  # About a minute or more on 2 cores; `pytest -m slow` runs it.
def test_tune_trials_searches_the_stack_on_dev_and_trains_the_best(sentiment, mr_files, tmp_path):
    import keras

    code = sentiment.main([f"--train={mr_files / 'train.csv'}", f"--test={mr_files / 'test.tsv'}",
                           "--text-column=review", "--label-column=sentiment", "--epochs=1", "--embedding-dim=8",
                           "--tune-trials=2", "--tune-epochs=1", f"--workdir={tmp_path / 'run'}", "--no-export"])
    assert code == 0
    search = json.loads((tmp_path / "run" / "metrics.json").read_text())["search"]
    assert len(search["trials"]) == 2 and search["trials"][0]["score"] <= search["trials"][1]["score"]
    best = search["best"]
    assert best["cell"] in ("lstm", "gru") and best["units"] in (32, 64, 128) and best["num_layers"] in (1, 2)
    assert {key: search["trials"][0][key] for key in best} == best
    # The model trained after the search is the best trial's configuration.
    model = keras.saving.load_model(tmp_path / "run" / "best.keras")
    stack = next(layer for layer in model.layers if layer.__class__.__name__ == "RecurrentStack")
    units = stack.units if isinstance(stack.units, int) else stack.units[0]
    assert (stack.cell, units, stack.num_layers) == (best["cell"], best["units"], best["num_layers"])
    assert (tmp_path / "run" / "search").is_dir()  # KerasTuner's trials, kept so a cut search resumes.


@pytest.mark.slow  # Default-run budget (10 min on 2 cores); `pytest -m slow` runs it.
def test_pretrain_lm_starts_the_classifier_from_a_bilm_of_the_training_text(sentiment, mr_files, tmp_path,
                                                                           monkeypatch):
    compiled = record_calls(monkeypatch, sentiment.seqkit, "compile_classifier")
    built = record_calls(monkeypatch, sentiment.seqkit, "build_bidirectional_language_model")
    trained = record_calls(monkeypatch, sentiment.seqkit.models.bilm, "train_bidirectional_language_model")
    extra = tmp_path / "unlabeled.txt"
    extra.write_text("a film about films\nthe plot thickens\n")
    code = sentiment.main([f"--train={mr_files / 'train.csv'}", f"--test={mr_files / 'test.tsv'}",
                           "--text-column=review", "--label-column=sentiment", "--epochs=1", "--units=8",
                           "--embedding-dim=8", "--ngram-dim=0", "--pretrain-lm", "--pretrain-epochs=2",
                           "--pretrain-learning-rate-multiplier=0.25", "--pretrain-dropout=0.2",
                           "--pretrain-batch-size=16", f"--pretrain-text={extra}", f"--workdir={tmp_path / 'run'}",
                           "--no-export"])
    assert code == 0
    assert built["dropout"] == 0.2 and trained["batch_size"] == 16  # The BiLM's own; the classifier keeps 0.0 and 32.
    # The layers the BiLM started train at a quarter of the rate; the new head at the full rate.
    model, multipliers = compiled["model"], compiled["learning_rate_multipliers"]
    pretrained = model.get_layer("token_embedding").trainable_variables + model.get_layer(
        "recurrent_stack").trainable_variables
    assert set(multipliers) == {variable.path for variable in pretrained} and set(multipliers.values()) == {0.25}
    assert any(variable.path not in multipliers for variable in model.trainable_variables)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    pretraining = metrics["pretraining"]
    assert pretraining["texts"] == metrics["num_train"] + 2  # The training texts (labels unused) and the extra file.
    # Better than a uniform guess over the vocabulary on the dev texts, in both directions.
    assert pretraining["val_forward_perplexity"] < metrics["vocabulary_size"]
    assert pretraining["val_backward_perplexity"] < metrics["vocabulary_size"]


@pytest.mark.parametrize("options, message", [
    (["--pretrain-lm", "--num-layers=2"], "use --num-layers=1"),
    (["--pretrain-lm", "--tune-trials=2"], "without --tune-trials"),
    (["--pretrain-lm", "--pretrain-sampled=-1"], "--pretrain-sampled must be >= 0 (0: the full softmax). Received: -1"),
    (["--pretrain-learning-rate-multiplier=0.5"], "it needs --pretrain-lm"),
    (["--pretrain-lm", "--pretrain-learning-rate-multiplier=-2"], "--pretrain-learning-rate-multiplier must be >= 0"),
    (["--pretrain-dropout=0.2"], "--pretrain-dropout sets how the BiLM trains: it needs --pretrain-lm"),
    (["--pretrain-batch-size=64"], "--pretrain-batch-size sets how the BiLM trains: it needs --pretrain-lm"),
    (["--pretrain-lm", "--pretrain-dropout=1"], "--pretrain-dropout must be in [0, 1). Received: 1.0"),
    (["--pretrain-lm", "--pretrain-batch-size=0"], "--pretrain-batch-size must be >= 1. Received: 0"),
])
def test_pretrain_lm_options_are_checked(sentiment, options, message, capsys):
    assert sentiment.main(options) == 2
    assert message in capsys.readouterr().err


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


BAD_INPUTS = {
    "missing_file": (lambda d: ["--train", str(d / "nope.csv"), "--test", str(d / "test.csv")], ["nope.csv", "not found"]),
    "wrong_column": (lambda d: ["--train", str(d / "train.csv"), "--test", str(d / "test.csv"), "--text-column=body"],
                     ["train.csv", "'body'", "Available columns", "['text', 'label']"]),
    "empty_text": (lambda d: ["--train", str(d / "empty_text.csv"), "--test", str(d / "test.csv")],
                   ["empty_text.csv", "row 2", "line 3", "empty text"]),
    "unseen_label": (lambda d: ["--train", str(d / "train.csv"), "--test", str(d / "unseen.csv")],
                     ["unseen.csv", "row 2", "'meh'", "never seen"]),
    "undecodable": (lambda d: ["--train", str(d / "latin1.csv"), "--test", str(d / "test.csv")],
                    ["latin1.csv", "line 3", "--encoding"]),
    "wrong_type": (lambda d: ["--epochs=ten"], ["--epochs expects int", "'ten'"]),
    "unknown_key": (lambda d: ["--epoch=3"], ["Unknown option --epoch"]),
    "train_without_test": (lambda d: ["--train", str(d / "train.csv")], ["--train needs --test"]),
    "chars_without_stacking": (lambda d: ["--stack-chars"], ["--stack-chars needs --stack-nbsvm"]),
    "header_only": (lambda d: ["--train", str(d / "header.csv"), "--test", str(d / "test.csv")],
                    ["header.csv", "no data rows", "['text', 'label']"]),
    "one_label": (lambda d: ["--train", str(d / "one_label.csv"), "--test", str(d / "test.csv")],
                  ["one_label.csv", "every example has the label 'pos'", "at least two labels"]),
    "more_folds_than_examples": (lambda d: ["--train", str(d / "one_each.csv"), "--cv-folds=5"],
                                 ["one_each.csv", "--cv-folds=5 needs at least 5 examples of every label",
                                  "Received: 4 of 'neg'"]),
    "min_freq_above_every_count": (lambda d: ["--train", str(d / "one_each.csv"), "--test", str(d / "test.csv"),
                                              "--min-freq=2"],
                                   ["one_each.csv", "no word occurs at least --min-freq=2 times",
                                    "a lower --min-freq"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_a_clear_error(sentiment, tmp_path, capsys, case):
    write(tmp_path / "train.csv", "text,label\ngood film,pos\nbad film,neg\n")
    write(tmp_path / "test.csv", "text,label\ngreat film,pos\n")
    write(tmp_path / "empty_text.csv", "text,label\ngood film,pos\n  ,neg\n")
    write(tmp_path / "unseen.csv", "text,label\ngood,pos\nso-so,meh\n")
    write(tmp_path / "latin1.csv", "text,label\ngood,pos\ncafé crème,neg\n", encoding="latin-1")
    write(tmp_path / "header.csv", "text,label\n")
    write(tmp_path / "one_each.csv", "text,label\n" + "".join(f"w{i},{'pos' if i % 2 else 'neg'}\n" for i in range(8)))
    write(tmp_path / "one_label.csv", "text,label\n" + "".join(f"good film {i},pos\n" for i in range(20)))
    arguments, expected = BAD_INPUTS[case]
    code = sentiment.main([*arguments(tmp_path), f"--workdir={tmp_path / 'run'}", f"--export-dir={tmp_path / 'x'}"])
    error = capsys.readouterr().err
    assert code == 2
    assert error.startswith("error: ") and "Traceback" not in error
    for fragment in expected:
        assert fragment in error
    assert not (tmp_path / "x").exists()  # Nothing was exported.


def test_a_training_file_too_small_to_stratify_its_dev_split_still_trains(sentiment, tmp_path):
    # 8 examples: the 10% dev share is one example, fewer than the two classes a stratified split needs.
    rows = "".join(f"w{i} film,{'pos' if i % 2 else 'neg'}\n" for i in range(8))
    write(tmp_path / "train.csv", "text,label\n" + rows)
    write(tmp_path / "test.csv", "text,label\ngreat film,pos\nawful film,neg\n")
    code = sentiment.main([f"--train={tmp_path / 'train.csv'}", f"--test={tmp_path / 'test.csv'}", "--epochs=1",
                           "--units=4", "--embedding-dim=4", "--ngram-dim=0", f"--workdir={tmp_path / 'run'}",
                           "--no-export"])
    assert code == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert (metrics["num_train"], metrics["num_dev"]) == (7, 1)


@pytest.mark.slow  # Default-run budget (10 min on 2 cores); `pytest -m slow` runs it.
def test_latin1_file_reads_with_encoding_option(sentiment, tmp_path):
    write(tmp_path / "train.csv", "text,label\n" + "café crème,neg\nsuperbe,pos\n" * 20, encoding="latin-1")
    write(tmp_path / "test.csv", "text,label\ncrème,neg\nsuperbe,pos\n", encoding="latin-1")
    code = sentiment.main([f"--train={tmp_path / 'train.csv'}", f"--test={tmp_path / 'test.csv'}", "--encoding=latin-1",
                           "--epochs=1", "--units=4", "--embedding-dim=4", f"--workdir={tmp_path / 'run'}", "--no-export"])
    assert code == 0


def test_a_finished_run_is_never_overwritten(sentiment, tmp_path):
    finished = tmp_path / "run"
    finished.mkdir()
    (finished / "metrics.json").write_text('{"accuracy": 0.9}')
    from seqkit.training import resolve_workdir

    assert resolve_workdir(finished) == tmp_path / "run-2"
    assert resolve_workdir(tmp_path / "fresh") == tmp_path / "fresh"
    assert (finished / "metrics.json").read_text() == '{"accuracy": 0.9}'
