"""benchmarks/sentiment_wide.py: the recipe's IMDB data for a machine without TensorFlow, training, and the stack."""

import json

import numpy as np
import pytest

from conftest import load_benchmark

WORDS = ["plot", "actor", "scene", "film", "story", "music", "end", "cast"]


@pytest.fixture(scope="module")
def wide():
    return load_benchmark("sentiment_wide")


@pytest.fixture(scope="module")
def prepared(wide, tmp_path_factory):
    """A tiny aclImdb (60 + 10 reviews; "great" only in positive ones, "awful" only in negative ones), prepared."""
    root = tmp_path_factory.mktemp("imdb")
    rng = np.random.default_rng(0)
    for split, count in (("train", 30), ("test", 5)):
        for label, cue in (("pos", "great"), ("neg", "awful")):
            folder = root / "aclImdb" / split / label
            folder.mkdir(parents=True)
            for index in range(count):
                words = list(rng.choice(WORDS, size=rng.integers(3, 12))) + [cue]
                (folder / f"{index}_1.txt").write_text(" ".join(rng.permutation(words)) + ".", encoding="utf-8")
    data = root / "prepared"
    wide.main(["prepare", str(data), "--seeds=0,1", f"--data-dir={root}"])
    return wide, root, data


def test_prepare_gives_each_seed_the_recipes_split_ids_and_nbsvm_logits(prepared):
    wide, root, data = prepared
    import seqkit
    from seqkit.data import splits

    texts, names = seqkit.datasets.load_imdb(data_dir=root)["train"]
    test_texts, test_names = seqkit.datasets.load_imdb(data_dir=root)["test"]
    for seed in (0, 1):
        (train_x, _, train_y), (dev_x, dev_len, dev_y), (test_x, test_len, test_y), size = wide.load_seed(data, seed)
        # The recipe's own path: its seeded split, the training split's vocabulary, its preprocessor.
        train_texts, dev_texts, train_names, dev_names = splits.holdout_split(
            texts, names, test_size=0.1, seed=seed, stratify=names
        )
        tokenizer = seqkit.get_tokenizer({"type": "word", "lowercase": True})
        vocabulary = seqkit.Vocabulary.build(tokenizer.iter_tokenize(train_texts), max_size=30000)
        preprocessor = seqkit.TextPreprocessor(tokenizer, vocabulary, max_length=800)
        expected = preprocessor(dev_texts).numpy()
        assert size == vocabulary.size and len(train_x) == len(train_texts) == 54
        np.testing.assert_array_equal(dev_x[:, : expected.shape[1]], expected)
        assert not dev_x[:, expected.shape[1] :].any() and dev_len.tolist() == (expected != 0).sum(axis=1).tolist()
        assert dev_y.tolist() == [int(name == "pos") for name in dev_names]
        assert test_y.tolist() == [int(name == "pos") for name in test_names]
        # NBSVM learned the cue words: its logit's sign is the label on every test review.
        nbsvm = np.load(data / f"seed{seed}.npz")["nbsvm_test"]
        assert ((nbsvm > 0) == test_y).all()


def test_train_writes_logits_that_stack_with_nbsvm(prepared, tmp_path):
    wide, root, data = prepared
    out = tmp_path / "out"
    options = ["--units=4", "--embedding-dim=4", "--epochs=1", "--bilm-epochs=1", "--batch-size=8",
               "--length-multiple=8"]
    wide.main(["train", str(data), str(out), "--seed=1", "--pretrain", "--pretrain-learning-rate-multiplier=0.5",
               *options])
    wide.main(["train", str(data), str(out), "--seed=1", *options])
    report = json.loads((out / "pretrained1.json").read_text())
    assert report["initialized"] == ["token_embedding", "recurrent_stack"]
    assert report["pretrain_learning_rate_multiplier"] == 0.5 and report["pretraining"]["epochs_run"] == 1
    logits, (_, _, (_, _, test_y), _) = np.load(out / "pretrained1.npz"), wide.load_seed(data, 1)
    assert logits["dev"].shape == (6,) and logits["test"].shape == (10,)
    assert report["test_accuracy_network_alone"] == float(((logits["test"] > 0) == test_y).mean())

    runs = wide.stack(data, out, tmp_path / "results.json")
    assert sorted(runs) == ["pretrained1", "scratch1"]
    assert json.loads((tmp_path / "results.json").read_text()) == runs
    for run in runs.values():  # NBSVM separates the cue words; weighed on the 6 dev reviews, the stack keeps most.
        assert run["nbsvm_test_accuracy"] == 1.0 and run["test_accuracy"] >= 0.9
        assert len(run["stacking_weights"]) == 2

    # The recipe's --stack-chars: NBSVM over character 1-6-grams, a third column.
    wide.main(["chars", str(data), "--seeds=1", f"--data-dir={root}"])
    chars = np.load(data / "seed1_chars.npz")
    assert chars["nbsvm_dev"].shape == (6,) and ((chars["nbsvm_test"] > 0) == test_y).all()
    runs = wide.stack(data, out, tmp_path / "results.json", chars=True)
    assert [len(run["stacking_weights"]) for run in runs.values()] == [3, 3]
