"""The text-generation recipe end to end: quick mode on tiny-shakespeare, user text, exports, and bad input."""

import hashlib
import json
import math
import re
import shutil

import numpy as np
import pytest

from conftest import load_recipe

# A tiny model, so the user-text runs take seconds.
TINY = ["--units=8", "--embedding-dim=4", "--num-layers=1", "--sequence-length=8", "--batch-size=4", "--epochs=1",
        "--sample-every=0"]
SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")
DEFAULT_SCORE_TEXTS = ["the apple and pear salad", "the apple and pair salad"]
WORDS = ["the", "king", "queen", "speaks", "to", "his", "her", "lords", "and", "ladies", "of", "court", "today",
         "café", "naïve", "crème", "brûlée"]


@pytest.fixture(scope="module")
def textgen():
    return load_recipe("textgen")


def corpus(lines=60, seed=0):
    """About 3 KB of short lines over a small word list, with a few non-ASCII (latin-1) characters."""
    rng = np.random.default_rng(seed)
    return "".join(" ".join(rng.choice(WORDS, size=rng.integers(4, 9))) + ".\n" for _ in range(lines))


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def snapshot(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# === Quick mode on the real data (one run, shared) ===


@pytest.fixture(scope="module")
def quick_run(textgen, shared_data, tmp_path_factory):
    """One `--quick` run on tiny-shakespeare (200k characters, three epochs), shared by the tests below."""
    folder = tmp_path_factory.mktemp("quick")
    code = textgen.main(["--quick", f"--data-dir={shared_data}", f"--workdir={folder / 'run'}",
                         f"--export-dir={folder / 'exports'}"])
    return code, folder


def test_quick_mode_metrics(quick_run):
    code, folder = quick_run
    assert code == 0
    metrics = json.loads((folder / "run" / "metrics.json").read_text())
    assert metrics["level"] == "char"
    assert metrics["config"]["quick"] is True and metrics["config"]["num_layers"] == 1
    assert 1 <= metrics["epochs_run"] <= 3
    report = metrics["validation"]
    # A uniform guess over ~66 characters is ln 66 = 4.19 nats per character.
    assert report["nats_per_character"] < 3.3, report
    assert report["bits_per_character"] == pytest.approx(report["nats_per_character"] / math.log(2), abs=1e-3)
    assert report["bits_per_token"] == pytest.approx(report["nats_per_token"] / math.log(2), abs=1e-3)
    assert report["perplexity"] == pytest.approx(math.exp(report["nats_per_token"]), abs=1e-2)
    # Characters: one token per character.
    assert report["nats_per_character"] == pytest.approx(report["nats_per_token"], abs=1e-3)
    assert metrics["samples"] and all(isinstance(sample["text"], str) and sample["text"] for sample in metrics["samples"])
    assert {sample["temperature"] for sample in metrics["samples"]} == {0.5, 1.0}
    assert [score["text"] for score in metrics["scores"]] == DEFAULT_SCORE_TEXTS
    for score in metrics["scores"]:
        assert score["log_prob"] < 0 and score["num_tokens"] == len(score["text"])
        assert score["perplexity"] == pytest.approx(math.exp(-score["log_prob"] / score["num_tokens"]), rel=1e-4)


def test_quick_mode_files(quick_run):
    from seqkit.data import Vocabulary

    code, folder = quick_run
    assert code == 0
    run = folder / "run"
    metrics = json.loads((run / "metrics.json").read_text())
    vocabulary = Vocabulary.load(run / "vocabulary.json")
    assert vocabulary.size == metrics["vocabulary_size"]
    assert 60 <= vocabulary.size <= 70  # Tiny-shakespeare's ~65 characters and the 4 special tokens.
    assert {"a", "Z", "\n", " ", "!"} <= set(vocabulary.tokens)
    assert (run / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_quick_mode_export(quick_run):
    import tensorflow as tf

    code, folder = quick_run
    assert code == 0
    export = folder / "exports" / "textgen" / "1"
    assert (export / "saved_model.pb").is_file()
    assert sorted(p.name for p in (folder / "exports" / "textgen").iterdir()) == ["1"]
    metrics = json.loads((folder / "run" / "metrics.json").read_text())
    assert json.loads((export / "metrics.json").read_text()) == metrics
    assert json.loads((export / "config.json").read_text())["quick"] is True
    metadata = json.loads((export / "seqkit.json").read_text())
    assert metadata["level"] == "char" and metadata["vocabulary_size"] == metrics["vocabulary_size"]
    assert metadata["defaults"]["max_new_tokens"] == 80  # The quick sample length.
    loaded = tf.saved_model.load(str(export))
    served = loaded.signatures["score"](text=tf.constant(DEFAULT_SCORE_TEXTS))
    for log_prob, count, score in zip(served["log_prob"].numpy(), served["num_tokens"].numpy(), metrics["scores"]):
        assert count == score["num_tokens"]
        assert log_prob == pytest.approx(score["log_prob"], abs=1e-3)
    outputs = loaded.signatures["serving_default"](prompts=tf.constant(["ROMEO:", ""]))
    texts = [t.decode() for t in outputs["text"].numpy()]
    assert texts[0].startswith("ROMEO:")
    assert [len(c.decode()) for c in outputs["continuation"].numpy()] == [80, 80]


@pytest.mark.slow  # Default-run budget (10 min on 2 cores); `pytest -m slow` runs it.
def test_second_export_is_version_2_and_leaves_version_1_alone(textgen, quick_run, tmp_path):
    code, folder = quick_run
    assert code == 0
    exports = tmp_path / "exports"
    shutil.copytree(folder / "exports", exports)  # The quick run's version 1, untouched by this test.
    before = snapshot(exports / "textgen" / "1")
    assert "saved_model.pb" in before and "metrics.json" in before
    text = write(tmp_path / "user.txt", corpus())
    assert textgen.main([f"--text={text}", *TINY, "--sample-length=5", f"--workdir={tmp_path / 'run'}",
                         f"--export-dir={exports}"]) == 0
    assert sorted(p.name for p in (exports / "textgen").iterdir()) == ["1", "2"]
    assert snapshot(exports / "textgen" / "1") == before
    second = exports / "textgen" / "2"
    assert json.loads((second / "config.json").read_text())["text"] == str(text)
    assert json.loads((second / "metrics.json").read_text()) == json.loads((tmp_path / "run" / "metrics.json").read_text())


# === User text ===


def test_user_text_char_level_with_encoding(textgen, tmp_path):
    from seqkit.data import Vocabulary

    text = write(tmp_path / "latin1.txt", corpus(), encoding="latin-1")
    workdir = tmp_path / "run"
    assert textgen.main([f"--text={text}", "--encoding=latin-1", *TINY, f"--workdir={workdir}", "--no-export"]) == 0
    metrics = json.loads((workdir / "metrics.json").read_text())
    assert metrics["level"] == metrics["config"]["level"] == "char"
    assert metrics["config"]["text"] == str(text) and metrics["config"]["export"] is False
    assert metrics["epochs_run"] == 1 and metrics["samples"] == []
    assert "nats_per_character" in metrics["validation"]
    assert [score["text"] for score in metrics["scores"]] == DEFAULT_SCORE_TEXTS
    vocabulary = Vocabulary.load(workdir / "vocabulary.json")
    assert {"é", "ï", "û", "\n"} <= set(vocabulary.tokens)  # Decoded as latin-1.
    assert not (tmp_path / "saved_models").exists()


def test_user_text_word_level(textgen, tmp_path):
    from seqkit.data import Vocabulary

    text = write(tmp_path / "words.txt", corpus())
    workdir = tmp_path / "run"
    assert textgen.main([f"--text={text}", "--level=word", *TINY, f"--workdir={workdir}", "--no-export"]) == 0
    metrics = json.loads((workdir / "metrics.json").read_text())
    assert metrics["level"] == metrics["config"]["level"] == "word"
    tokens = set(Vocabulary.load(workdir / "vocabulary.json").tokens)
    assert {"king", "café", "brûlée", "."} <= tokens and "apple" not in tokens
    # The words, ".", and at most a word cut in two by the 90% split (a character offset), e.g. "brûl".
    assert all(token == "." or any(word.startswith(token) for word in WORDS) for token in tokens - set(SPECIALS))
    assert len(WORDS) + 1 + 4 <= metrics["vocabulary_size"] == len(tokens) <= len(WORDS) + 1 + 4 + 1
    report = metrics["validation"]
    # Words hold several characters each: fewer nats per character than per token.
    assert report["nats_per_character"] < report["nats_per_token"]
    assert [score["text"] for score in metrics["scores"]] == DEFAULT_SCORE_TEXTS
    assert "apple" in metrics["scores"][0]["unknown"]  # Scored as <unk>, and listed.
    assert metrics["scores"][0]["num_tokens"] == 5


# === Bad input ===


def bad_inputs(tmp_path):
    short = write(tmp_path / "short.txt", "abcdefghijklmnopqrst")  # 20 characters: 18 train, 2 validate.
    latin1 = write(tmp_path / "latin1.txt", "naïve café\n" * 20, encoding="latin-1")
    short_validation = write(tmp_path / "short_validation.txt", "abcdefghij" * 3)  # 27 train, 3 validate.
    missing = tmp_path / "nope.txt"
    empty = write(tmp_path / "empty.txt", "")
    unique_words = write(tmp_path / "unique.txt", "".join(f"word{i} word{i}x word{i}y\n" for i in range(40)))
    tiny = [argument for argument in TINY if not argument.startswith("--sequence-length")]
    return {
        "missing_file": ([f"--text={missing}"], [str(missing), "not found"]),
        "too_short": ([f"--text={short}", *tiny, "--sequence-length=32"],
                      ["too short", "18 tokens", "sequence_length + 1 = 33"]),
        "empty_file": ([f"--text={empty}", *TINY], [str(empty), "training text is too short", "0 tokens"]),
        "min_freq_above_every_count": ([f"--text={unique_words}", "--level=word", "--min-freq=2", *TINY],
                                       [str(unique_words), "no word occurs at least --min-freq=2 times",
                                        "a lower --min-freq"]),
        "validation_too_short": ([f"--text={short_validation}", *TINY],
                                 ["validation text is too short", "3 tokens", "sequence_length + 1 = 9"]),
        "zero_temperature": (["--temperature=0"], ["--temperature must be > 0"]),
        "top_p_above_1": (["--top-p=1.5"], ["--top-p", "1.5"]),
        "unknown_level": (["--level=byte"], ["--level", "'byte'", "char", "word"]),
        "unknown_option": (["--temprature=0.5"], ["Unknown option --temprature"]),
        "latin1_as_utf8": ([f"--text={latin1}", *TINY], [str(latin1), "utf-8", "--encoding"]),
    }


BAD_CASES = ["missing_file", "too_short", "empty_file", "min_freq_above_every_count", "validation_too_short",
             "zero_temperature", "top_p_above_1", "unknown_level", "unknown_option", "latin1_as_utf8"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_is_a_clear_error(textgen, tmp_path, capsys, case):
    arguments, expected = bad_inputs(tmp_path)[case]
    code = textgen.main([*arguments, f"--workdir={tmp_path / 'run'}", f"--export-dir={tmp_path / 'x'}"])
    error = capsys.readouterr().err
    assert code == 2
    assert error.startswith("error: ") and "Traceback" not in error
    assert len(error.strip().splitlines()) == 1, error
    for fragment in expected:
        assert fragment in error, (fragment, error)
    assert not (tmp_path / "x").exists()  # Nothing was exported.
    assert not (tmp_path / "run" / "metrics.json").exists()


@pytest.mark.slow  # A full epoch over tiny-shakespeare: ~25 s on 2 cores.
def test_a_text_larger_than_the_memory_limit_streams_from_disk(textgen, shared_data, tmp_path):
    # tiny-shakespeare (1.06 MiB) against a 0.5 MiB limit: read a chunk at a time, never whole.
    text = (shared_data / "tinyshakespeare" / "input.txt").read_text()
    (tmp_path / "big.txt").write_text(text)
    code = textgen.main([f"--text={tmp_path / 'big.txt'}", "--memory-limit-mb=0.5", "--epochs=1", "--units=32",
                         "--num-layers=1", "--sequence-length=128", "--batch-size=128", "--sample-every=0",
                         "--score-texts=", f"--workdir={tmp_path / 'run'}", "--no-export"])
    assert code == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert "streamed from disk" in metrics["data"]
    assert 2.0 < metrics["validation"]["nats_per_character"] < 3.6  # One epoch of a small LSTM (unigram: ~3.3).
    # The validation tail is the last tenth of the file, cut at a line end, every character counted.
    num_val = int(re.search(r"([\d,]+) validation char tokens", metrics["data"]).group(1).replace(",", ""))
    assert num_val == pytest.approx(0.1 * len(text), rel=0.01)
