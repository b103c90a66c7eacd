"""The NER recipe end to end: quick mode on real CoNLL-2003, user files, bad input, and no overwrites."""

import hashlib
import json

import numpy as np
import pytest

from conftest import load_recipe, record_calls

# A tiny model, so the user-file runs take seconds.
TINY = ["--epochs=1", "--units=4", "--word-embedding-dim=4", "--char-embedding-dim=4", "--char-hidden-dim=4",
        "--casing-dim=2", "--batch-size=8"]


@pytest.fixture(scope="module")
def ner():
    return load_recipe("ner")


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def conll_text(sentences, docstart=False):
    """3-column CoNLL text (token POS tag) from `[[(token, tag), ...], ...]`."""
    lines = ["-DOCSTART- -X- O", ""] if docstart else []
    for sentence in sentences:
        lines += [f"{token} NNP {tag}" if tag != "O" else f"{token} XX {tag}" for token, tag in sentence] + [""]
    return "\n".join(lines) + "\n"


TRAIN_SENTENCES = [
    [("John", "B-PER"), ("Smith", "I-PER"), ("went", "O"), ("to", "O"), ("Paris", "B-LOC"), (".", "O")],
    [("Mary", "B-PER"), ("lives", "O"), ("in", "O"), ("New", "B-LOC"), ("York", "I-LOC")],
    [("Peter", "B-PER"), ("saw", "O"), ("Berlin", "B-LOC"), ("and", "O"), ("Anna", "B-PER"), ("Jones", "I-PER")],
    [("the", "O"), ("weather", "O"), ("was", "O"), ("fine", "O")],
    [("Madrid", "B-LOC"), ("welcomed", "O"), ("Brown", "B-PER")],
] * 4
DEV_SENTENCES = [[("Anna", "B-PER"), ("went", "O"), ("to", "O"), ("London", "B-LOC")], [("it", "O"), ("rained", "O")]]
TEST_SENTENCES = [
    [("Peter", "B-PER"), ("Brown", "I-PER"), ("saw", "O"), ("Paris", "B-LOC")],
    [("Mary", "B-PER"), ("stayed", "O"), ("in", "O"), ("New", "B-LOC"), ("York", "I-LOC")],
    [("nothing", "O"), ("happened", "O")],
]


@pytest.fixture
def user_files(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    write(folder / "train.conll", conll_text(TRAIN_SENTENCES, docstart=True))
    write(folder / "dev.conll", conll_text(DEV_SENTENCES))
    write(folder / "test.conll", conll_text(TEST_SENTENCES, docstart=True))
    return folder


def user_arguments(folder, *extra):
    return [f"--train={folder / 'train.conll'}", f"--dev={folder / 'dev.conll'}", f"--test={folder / 'test.conll'}",
            "--token-column=0", "--tag-column=2", *TINY, *extra]


def snapshot(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# === (a) Quick mode on the real data ===


@pytest.fixture(scope="module")
def quick_run(ner, shared_data, tmp_path_factory):
    """One quick run on CoNLL-2003 (500 training sentences, one epoch), shared by the tests below."""
    folder = tmp_path_factory.mktemp("quick")
    code = ner.main(["--quick", "--epochs=1", "--quick-sentences=500", f"--data-dir={shared_data}",
                     f"--workdir={folder / 'run'}", f"--export-dir={folder / 'exports'}"])
    return code, folder


def test_quick_mode_end_to_end(quick_run):
    from seqkit.data import conll

    code, folder = quick_run
    assert code == 0
    metrics = json.loads((folder / "run" / "metrics.json").read_text())
    assert 0.0 <= metrics["f1"] <= 1.0
    assert 0.0 <= metrics["test"]["token_accuracy"] <= 1.0
    assert (metrics["num_train"], metrics["num_dev"], metrics["num_test"]) == (500, 1000, 1000)
    assert metrics["epochs_run"] == 1
    assert metrics["config"]["quick"] is True and metrics["config"]["epochs"] == 1
    assert metrics["tag_names"][0] == "O" and "S-PER" in metrics["tag_names"]  # BIOES by default.
    sentences, gold, lines = conll.read_conll(folder / "run" / "test_predictions.conll", tag_column=1,
                                              return_lines=True)
    _, predicted = conll.read_conll(folder / "run" / "test_predictions.conll", tag_column=2, scheme="bio")
    assert len(sentences) == len(predicted) == 1000
    assert all(len(row) == len(tags) for row, tags in zip(sentences, predicted))
    assert {tag[:2] for row in gold + predicted for tag in row} <= {"O", "B-", "I-"}  # Scored as BIO.
    assert (folder / "run" / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_quick_mode_export(quick_run):
    import tensorflow as tf

    code, folder = quick_run
    assert code == 0
    export = folder / "exports" / "ner" / "1"
    assert (export / "saved_model.pb").is_file()
    assert sorted(p.name for p in (folder / "exports" / "ner").iterdir()) == ["1"]
    metrics = json.loads((folder / "run" / "metrics.json").read_text())
    assert json.loads((export / "metrics.json").read_text())["f1"] == metrics["f1"]
    assert json.loads((export / "config.json").read_text())["quick"] is True
    assert json.loads((export / "seqkit.json").read_text())["tag_names"] == metrics["tag_names"]
    outputs = tf.saved_model.load(str(export)).signatures["serving_default"](
        text=tf.constant(["EU rejects German call to boycott British lamb.", ""]))
    assert outputs["lengths"].numpy().tolist() == [9, 0]
    assert [t.decode() for t in outputs["tokens"].numpy()[0]] == ["EU", "rejects", "German", "call", "to", "boycott",
                                                                   "British", "lamb", "."]
    assert all(t.decode() in metrics["tag_names"] for t in outputs["tags"].numpy()[0])


# === (b) User files, (d) no overwrites ===


def test_user_files_with_column_options_and_no_overwrites(ner, user_files, tmp_path):
    exports, workdir = tmp_path / "exports", tmp_path / "run"
    # Something already in the export folder: it must survive.
    (exports / "ner" / "1").mkdir(parents=True)
    (exports / "ner" / "1" / "keep.txt").write_text("kept")

    assert ner.main(user_arguments(user_files, f"--workdir={workdir}", f"--export-dir={exports}")) == 0
    metrics = json.loads((workdir / "metrics.json").read_text())
    assert (metrics["num_train"], metrics["num_dev"], metrics["num_test"]) == (20, 2, 3)
    # Every BIOES prefix of each training entity type, seen or not.
    assert metrics["tag_names"] == ["O", "B-LOC", "B-PER", "E-LOC", "E-PER", "I-LOC", "I-PER", "S-LOC", "S-PER"]
    assert 0.0 <= metrics["f1"] <= 1.0
    predictions = (workdir / "test_predictions.conll").read_text().split("\n\n")
    assert predictions[0].splitlines()[0].split()[:2] == ["Peter", "B-PER"]  # token, gold (BIO), predicted.
    assert (exports / "ner" / "1" / "keep.txt").read_text() == "kept"
    assert sorted(p.name for p in (exports / "ner").iterdir()) == ["1", "2"]
    second_export = snapshot(exports / "ner" / "2")
    first_run = snapshot(workdir)

    # Run again with the same folders: a new run folder and a new version; nothing is overwritten.
    assert ner.main(user_arguments(user_files, f"--workdir={workdir}", f"--export-dir={exports}")) == 0
    assert sorted(p.name for p in (exports / "ner").iterdir()) == ["1", "2", "3"]
    assert snapshot(exports / "ner" / "2") == second_export
    assert snapshot(workdir) == first_run
    assert (tmp_path / "run-2" / "metrics.json").is_file()
    assert (exports / "ner" / "1" / "keep.txt").read_text() == "kept"


# === (c) Bad input ===

BAD_TRAIN = {
    # Line 4 has two columns where line 1 had three.
    "columns.conll": "John NNP B-PER\nSmith NNP I-PER\n\nran O\n",
    "empty.conll": "-DOCSTART- -X- O\n\n\n",
    # I-PER after O on line 3, read as BIO.
    "malformed.conll": "John NNP B-PER\nsaw XX O\nSmith NNP I-PER\n",
    "per_only.conll": "John NNP B-PER\nran XX O\n\nMary NNP B-PER\n",
}
# The test file: line 5 holds a LOC, a type the training data never has (BIO: tag B-LOC).
UNSEEN_TEST = "-DOCSTART- -X- O\n\nJohn NNP B-PER\nsaw XX O\nParis NNP B-LOC\n"


def bad(folder, train="train.conll", dev="dev.conll", test="test.conll", *extra):
    return [f"--train={folder / train}", f"--dev={folder / dev}", f"--test={folder / test}", "--tag-column=2",
            *extra]


BAD_INPUTS = {
    "inconsistent_columns": (lambda d: bad(d, "columns.conll"),
                             ["columns.conll", "line 4", "expected 3 columns", "got 2"]),
    "unseen_test_tag": (lambda d: bad(d, "per_only.conll", "per_only.conll", "unseen.conll", "--tag-scheme=bio"),
                        ["unseen.conll", "line 5", "'Paris' has entity type 'LOC'",
                         "never occurs in the training data"]),
    # Default --tag-scheme=bioes: the file's B-LOC is S-LOC once converted, so the error names the type alone.
    "unseen_test_type_bioes": (lambda d: bad(d, "per_only.conll", "per_only.conll", "unseen.conll"),
                               ["unseen.conll", "line 5", "'Paris' has entity type 'LOC'", "Known types: ['PER']"]),
    "no_sentences": (lambda d: bad(d, dev="empty.conll"), ["empty.conll", "no sentences"]),
    "malformed_bio": (lambda d: bad(d, "malformed.conll") + ["--scheme=bio"],
                      ["malformed.conll", "line 3", "'I-PER'", "I-PER follows O"]),
    "missing_file": (lambda d: bad(d, test="nope.conll"), ["nope.conll", "not found"]),
    "train_without_test": (lambda d: [f"--train={d / 'train.conll'}"], ["--train needs --test"]),
    "column_out_of_range": (lambda d: bad(d) + ["--token-column=7"], ["train.conll", "line 3", "column 7", "out of range"]),
    "wrong_type": (lambda d: ["--epochs=abc"], ["--epochs expects int", "'abc'"]),
    "unknown_option": (lambda d: ["--epoch=3"], ["Unknown option --epoch"]),
    "bad_choice": (lambda d: ["--output=bogus"], ["--output", "'bogus'", "crf", "softmax"]),
    "bad_scheme": (lambda d: bad(d) + ["--scheme=iob3"], ["'iob3'"]),
    "min_word_freq_above_every_count": (lambda d: bad(d) + ["--min-word-freq=100000"],
                                        ["train.conll", "no word occurs at least --min-word-freq=100000 times"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_a_clear_error(ner, user_files, tmp_path, capsys, case):
    write(user_files / "unseen.conll", UNSEEN_TEST)
    for name, text in BAD_TRAIN.items():
        write(user_files / name, text)
    arguments, expected = BAD_INPUTS[case]
    code = ner.main([*arguments(user_files), f"--workdir={tmp_path / 'run'}", f"--export-dir={tmp_path / 'x'}"])
    error = capsys.readouterr().err
    assert code == 2
    assert error.startswith("error: ") and "Traceback" not in error
    assert len(error.strip().splitlines()) == 1, error
    for fragment in expected:
        assert fragment in error, (fragment, error)
    assert not (tmp_path / "x").exists()  # Nothing was exported.
    assert not (tmp_path / "run" / "metrics.json").exists()


# Training has only two-token locations (BIO: B-LOC, I-LOC; BIOES: B-LOC, E-LOC).
UNSEEN_UNDER_BIOES = {
    "one_token_location": [[("Paris", "B-LOC"), ("is", "O")]],  # BIOES S-LOC.
    "three_token_location": [[("New", "B-LOC"), ("York", "I-LOC"), ("City", "I-LOC")]],  # BIOES I-LOC.
}


@pytest.mark.slow  # Default-run budget (10 min on 2 cores); `pytest -m slow` runs it.
@pytest.mark.parametrize("case", sorted(UNSEEN_UNDER_BIOES))
def test_test_tags_seen_in_training_are_accepted_under_bioes(ner, user_files, tmp_path, capsys, case):
    write(user_files / "train.conll", conll_text([[("New", "B-LOC"), ("York", "I-LOC"), ("is", "O")],
                                                   [("John", "B-PER"), ("won", "O")]] * 3))
    write(user_files / "dev.conll", conll_text([[("John", "B-PER"), ("ran", "O")]]))
    write(user_files / "test.conll", conll_text(UNSEEN_UNDER_BIOES[case]))
    code = ner.main(user_arguments(user_files, f"--workdir={tmp_path / 'run'}", "--no-export"))
    assert code == 0, capsys.readouterr().err


@pytest.mark.slow  # Default-run budget (10 min on 2 cores); `pytest -m slow` runs it.
def test_word_vectors_start_the_embeddings(ner, user_files, tmp_path, capsys, monkeypatch):
    """A tiny GloVe file: its width replaces --word-embedding-dim and its rows start the word embedding."""
    glove = write(tmp_path / "tiny.glove.txt", "john 1 2 3 4 5 6\nparis -1 -2 -3 -4 -5 -6\nunrelated 9 9 9 9 9 9\n")
    built = {}
    original = ner.seqkit.build_tagger

    def spy(*args, **kwargs):
        built["model"] = model = original(*args, **kwargs)
        built["matrix"] = kwargs["embedding_matrix"]
        built["initial"] = model.get_layer("word_embedding").embeddings.numpy().copy()
        return model

    monkeypatch.setattr(ner.seqkit, "build_tagger", spy)
    code = ner.main(user_arguments(user_files, f"--word-vectors={glove}", f"--workdir={tmp_path / 'run'}", "--no-export"))
    out = capsys.readouterr().out
    assert code == 0
    assert "word vectors: 2 of" in out
    assert built["initial"].shape[1] == 6
    np.testing.assert_array_equal(built["initial"], built["matrix"])
    rows = {tuple(row) for row in built["initial"].tolist()}
    assert (1.0, 2.0, 3.0, 4.0, 5.0, 6.0) in rows and (-1.0, -2.0, -3.0, -4.0, -5.0, -6.0) in rows


# === ELMo-style contextual features ===


@pytest.mark.slow  # Default-run budget (10 min on 2 cores); `pytest -m slow` runs it.
def test_bilm_pretrains_on_train_and_dev_text_only_and_its_tagger_exports(ner, user_files, tmp_path):
    import tensorflow as tf

    extra = write(tmp_path / "unlabeled.txt", "Paris is far from Berlin\nAnna met Peter\n\n")
    code = ner.main(user_arguments(user_files, "--bilm", "--bilm-units=8", "--bilm-layers=1", "--bilm-epochs=2",
                                   "--bilm-chars", f"--bilm-text={extra}", "--bilm-sampled=5", "--bilm-at-output",
                                   f"--workdir={tmp_path / 'run'}",
                                   f"--export-dir={tmp_path / 'exports'}"))
    assert code == 0
    bilm = json.loads((tmp_path / "run" / "metrics.json").read_text())["bilm"]
    # 20 train + 2 dev sentences + 2 lines of extra text; the 3 test sentences are never read.
    assert bilm["sentences"] == len(TRAIN_SENTENCES) + len(DEV_SENTENCES) + 2
    assert 1 <= bilm["epochs_run"] <= 2 and bilm["val_forward_perplexity"] > 1
    assert bilm["num_sampled"] == 5  # Trained with a sampled softmax; its dev perplexity is still the full one.
    assert len(bilm["mix_weights"]) == 2 and abs(sum(bilm["mix_weights"]) - 1) < 1e-3  # Token layer + 1 recurrent.
    outputs = tf.saved_model.load(str(tmp_path / "exports" / "ner" / "1")).signatures["serving_default"](
        text=tf.constant(["Mary saw Paris", ""]))
    assert outputs["lengths"].numpy().tolist() == [3, 0]


def test_bilm_options_are_checked(ner, user_files, tmp_path, capsys):
    code = ner.main(user_arguments(user_files, "--bilm", "--bilm-chars", "--char-encoder=none"))
    assert code == 2 and "--bilm-chars reads the tagger's character ids" in capsys.readouterr().err
    code = ner.main(user_arguments(user_files, "--bilm", "--bilm-layers=0"))
    assert code == 2 and "--bilm-layers must be >= 1. Received: 0" in capsys.readouterr().err
    code = ner.main(user_arguments(user_files, "--bilm", "--bilm-sampled=-3"))
    assert code == 2 and "--bilm-sampled must be >= 0 (0: the full softmax). Received: -3" in capsys.readouterr().err
    code = ner.main(user_arguments(user_files, "--bilm-at-output"))
    assert code == 2 and "--bilm-at-output joins the BiLM's features to the tagger's output: it needs --bilm" in (
        capsys.readouterr().err)
    code = ner.main(user_arguments(user_files, "--bilm", "--bilm-learning-rate-multiplier=0.1"))
    assert code == 2 and "it needs --bilm and --bilm-trainable" in capsys.readouterr().err
    code = ner.main(user_arguments(user_files, "--bilm", "--bilm-trainable", "--bilm-learning-rate-multiplier=-1"))
    assert code == 2 and "--bilm-learning-rate-multiplier must be >= 0. Received: -1" in capsys.readouterr().err


def test_a_fine_tuned_bilm_trains_at_its_own_rate(ner, user_files, tmp_path, monkeypatch):
    compiled = record_calls(monkeypatch, ner.seqkit, "compile_tagger")
    code = ner.main(user_arguments(user_files, "--bilm", "--bilm-units=8", "--bilm-layers=1", "--bilm-epochs=1",
                                   "--bilm-trainable", "--bilm-learning-rate-multiplier=0.1", "--epochs=1",
                                   f"--workdir={tmp_path / 'run'}", "--no-export"))
    assert code == 0
    model, multipliers = compiled["model"], compiled["learning_rate_multipliers"]
    bilm = next(layer for layer in model.layers if isinstance(layer, ner.seqkit.ContextualEmbedding)).bilm
    assert set(multipliers) == {variable.path for variable in bilm.trainable_variables}
    assert set(multipliers.values()) == {0.1}
    # The tagger's own weights, and the mix, keep the full rate; the optimizer trained with these names.
    assert "crf/transitions" in {variable.path for variable in model.trainable_variables} - set(multipliers)
    assert any("mix_logits" in variable.path for variable in model.trainable_variables if variable.path not in multipliers)
    assert model.optimizer.learning_rate_multipliers == multipliers


# === Document context ===


def test_document_context_reads_neighbouring_sentences_together_and_scores_per_sentence(ner, user_files, tmp_path):
    from seqkit.data import conll

    config = ner.Config(train=str(user_files / "train.conll"), dev=str(user_files / "dev.conll"),
                        test=str(user_files / "test.conll"), tag_column=2, document_context=12)
    prepared = ner.prepare(config)
    # Train: 20 sentences of 6, 5, 6, 4, 3 tokens (one document) packed greedily into rows of <= 12 tokens.
    assert prepared.groups["train"][:5] == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]
    assert len(prepared.groups["train"]) == 10 and prepared.groups["dev"] == [[0, 1]]
    words, ids = prepared.features["train"]["words"], prepared.tag_ids["train"]
    assert words.shape[0] == ids.shape[0] == 10
    assert prepared.rows("train")[0] == [token for token, _ in TRAIN_SENTENCES[0] + TRAIN_SENTENCES[1]]
    index = {tag: i for i, tag in enumerate(prepared.tag_names)}
    expected = [index[tag] for tag in ["B-PER", "E-PER", "O", "O", "S-LOC", "O", "S-PER", "O", "O", "B-LOC", "E-LOC"]]
    assert ids[0].tolist() == expected + [-1] * (ids.shape[1] - 11)
    assert prepared.unrows("test", prepared.rows("test", prepared.gold["test"])) == prepared.gold["test"]

    code = ner.main(user_arguments(user_files, "--document-context=12", "--bilm", "--bilm-units=8", "--bilm-layers=1",
                                   "--bilm-epochs=1", f"--workdir={tmp_path / 'run'}", "--no-export"))
    assert code == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert (metrics["num_train"], metrics["num_dev"], metrics["num_test"]) == (20, 2, 3)  # Still sentences.
    assert metrics["bilm"]["sentences"] == 10 + 1  # The BiLM read the joined train and dev rows.
    sentences, predicted = conll.read_conll(tmp_path / "run" / "test_predictions.conll", tag_column=2)
    assert sentences == [[token for token, _ in row] for row in TEST_SENTENCES]
    assert [len(row) for row in predicted] == [4, 5, 2]


def test_document_context_is_checked(ner, user_files, capsys):
    code = ner.main(user_arguments(user_files, "--document-context=-1"))
    assert code == 2 and "--document-context must be >= 0 (0: each sentence alone). Received: -1" in capsys.readouterr().err


# === Refit on train+dev ===


def test_refit_trains_a_fresh_tagger_on_train_and_dev_with_the_dev_schedule(ner, user_files, tmp_path, monkeypatch):
    import csv

    import keras

    from seqkit.data import conll

    pretrained, at_refit = {}, {}
    pretrain_bilm, refit = ner.pretrain_bilm, ner.refit

    def recording_pretrain(config, prepared):
        contextual, report = pretrain_bilm(config, prepared)
        pretrained["weights"] = contextual.bilm.get_weights()
        return contextual, report

    def recording_refit(config, prepared, contextual, schedule, workdir, strategy):
        at_refit["weights"] = contextual.bilm.get_weights()
        return refit(config, prepared, contextual, schedule, workdir, strategy)

    monkeypatch.setattr(ner, "pretrain_bilm", recording_pretrain)
    monkeypatch.setattr(ner, "refit", recording_refit)
    predicted_with = record_calls(monkeypatch, ner.seqkit.models, "predict_tag_names")
    run = tmp_path / "run"
    code = ner.main(user_arguments(user_files, "--refit", "--epochs=4", "--patience=4", "--reduce-lr-patience=1",
                                   "--learning-rate=0.01", "--bilm", "--bilm-units=8", "--bilm-layers=1",
                                   "--bilm-epochs=1", "--bilm-trainable", f"--workdir={run}", "--no-export"))
    assert code == 0
    metrics = json.loads((run / "metrics.json").read_text())
    history, report = metrics["history"], metrics["refit"]
    best = int(np.argmax(history["val_f1"]))  # The first best epoch, as early stopping keeps it.
    assert report["epochs"] == best + 1 and report["learning_rates"] == history["learning_rate"][: best + 1]
    assert report["rows"] == len(TRAIN_SENTENCES) + len(DEV_SENTENCES)
    with open(run / "refit_log.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [float(row["learning_rate"]) for row in rows] == pytest.approx(report["learning_rates"])
    # The fine-tuned BiLM went back to its pretrained weights before the refit.
    assert all(np.array_equal(a, b) for a, b in zip(pretrained["weights"], at_refit["weights"]))
    assert 0 <= report["selection_test"]["f1"] <= 1
    assert len(report["mix_weights"]) == 2 and abs(sum(report["mix_weights"]) - 1) < 1e-3  # The refit's own mix.

    # The last predictions scored (the test set's) came from the refit tagger, which refit.keras holds.
    scored = predicted_with["model"]
    saved = keras.saving.load_model(run / "refit.keras", compile=False)
    assert all(np.array_equal(a, b) for a, b in zip(scored.get_weights(), saved.get_weights()))
    selected = keras.saving.load_model(run / "best.keras", compile=False)
    assert not all(np.array_equal(a, b) for a, b in zip(scored.get_weights(), selected.get_weights()))
    sentences, _ = conll.read_conll(run / "test_predictions.conll", tag_column=2)
    assert [len(row) for row in sentences] == [4, 5, 2]
