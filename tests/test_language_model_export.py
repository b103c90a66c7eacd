"""Language-model export: generate and score signatures served by plain TensorFlow, without seqkit."""

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

import seqkit
from seqkit.data.text_windows import build_lm_vocabulary, text_to_tokens
from seqkit.models.language_model import build_language_model, generate, score

CHAR_TEXT = "the quick brown fox jumps over the lazy dog\nabc abd abe zzz\n"  # No "é": it reads as <unk>.
WORD_TEXT = "the cat sat on the mat\nthe dog ran to the cat\na bird sang in the tree\n"
SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")
DEFAULT_NEW_TOKENS = 9
GREEDY_NEW_TOKENS = 6
PROMPTS = ["ab", "", "zz\u00e9"]
BATCH_OF_8 = ["the", "a", "", "fox", "zz", "quick ", "dog", "o"]
SCORE_TEXTS = ["the lazy dog", "", "abc", "zz\u00e9 fox\n", "q"]
WORD_SCORE_TEXTS = ["the cat sat", "", "The Zebra sat.", "the cat\nthe dog\n", "a bird"]
WORD_PROMPTS = ["the cat", "", "The Dog ", "a zebra"]
MULTILINE_WORD_PROMPTS = ["the cat\nthe dog", "sat on\n\nthe", "a bird sang\nin"]

# Loads exports with plain TensorFlow in a fresh process where `import seqkit` (and keras_hub) fails.
# Reads a JSON list of jobs on stdin: {"path", "signature", "inputs": {name: [dtype, value]}}; prints a
# JSON list with, per job, its outputs or {"error": message}.
SERVE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.modules["seqkit"] = None  # Any attempt to import seqkit now raises ImportError.
    sys.modules["keras_hub"] = None
    import tensorflow as tf
    loaded, results = {}, []
    for job in json.loads(sys.stdin.read()):
        if job["path"] not in loaded:
            loaded[job["path"]] = tf.saved_model.load(job["path"])
        model = loaded[job["path"]]
        function = model.signatures[job["signature"]]
        inputs = {name: tf.constant(value, dtype=dtype) for name, (dtype, value) in job["inputs"].items()}
        if "prompts" in inputs:
            inputs["prompts"] = tf.reshape(inputs["prompts"], [-1])
        if "text" in inputs:
            inputs["text"] = tf.reshape(inputs["text"], [-1])
        try:
            outputs = function(**inputs)
        except Exception as error:  # Reported to the parent, which checks the message.
            results.append({"error": f"{type(error).__name__}: {error}"})
            continue
        results.append({key: {"value": value.numpy().tolist(), "shape": list(value.shape), "dtype": value.dtype.name}
                        for key, value in outputs.items()})
        results[-1]["_signatures"] = sorted(model.signatures.keys())
    print(json.dumps(results, default=lambda b: b.decode("utf-8")))
    """
)


def serve(jobs):
    result = subprocess.run(
        [sys.executable, "-c", SERVE_SCRIPT], input=json.dumps(jobs), capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def strings(values):
    return ["string", list(values)]


def generate_inputs(prompts, max_new_tokens, temperature, seed):
    return {"prompts": strings(prompts), "max_new_tokens": ["int32", max_new_tokens],
            "temperature": ["float32", temperature], "seed": ["int32", seed]}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Three untrained exports (char random, char greedy, word random), all served in one fresh process."""
    root = tmp_path_factory.mktemp("lm_exports")
    keras.utils.set_random_seed(0)
    char_vocabulary = build_lm_vocabulary(text_to_tokens(CHAR_TEXT, "char"))
    char_model = build_language_model(char_vocabulary.size, embedding_dim=8, units=16, num_layers=1)
    word_vocabulary = build_lm_vocabulary(text_to_tokens(WORD_TEXT, "word"))
    word_model = build_language_model(word_vocabulary.size, embedding_dim=8, units=16, num_layers=1)
    # Large random embedding and output weights: an untrained model whose greedy choice depends on the
    # context (with the default small weights it repeats one word whatever the prompt).
    rng = np.random.default_rng(0)
    for weight in (word_model.get_layer("token_embedding").weights[0], word_model.get_layer("logits").kernel):
        weight.assign(rng.normal(0, 3, weight.shape).astype("float32"))

    random_path = seqkit.export_language_model(
        char_model, char_vocabulary, level="char", strategy="random", max_new_tokens=DEFAULT_NEW_TOKENS,
        temperature=0.8, seed=0, export_root=root, name="char_random",
    )
    greedy_path = seqkit.export_language_model(
        char_model, char_vocabulary, level="char", strategy="greedy", max_new_tokens=GREEDY_NEW_TOKENS,
        export_root=root, name="char_greedy",
    )
    word_path = seqkit.export_language_model(
        word_model, word_vocabulary, level="word", strategy="random", max_new_tokens=5, temperature=1.0,
        export_root=root, name="word",
    )
    word_greedy_path = seqkit.export_language_model(
        word_model, word_vocabulary, level="word", strategy="greedy", max_new_tokens=GREEDY_NEW_TOKENS,
        export_root=root, name="word_greedy",
    )
    # The same three with the sampling loop compiled by XLA.
    xla_paths = {
        "random": seqkit.export_language_model(
            char_model, char_vocabulary, level="char", strategy="random", max_new_tokens=DEFAULT_NEW_TOKENS,
            temperature=0.8, seed=0, export_root=root, name="char_random_xla", jit_compile=True,
        ),
        "greedy": seqkit.export_language_model(
            char_model, char_vocabulary, level="char", strategy="greedy", max_new_tokens=GREEDY_NEW_TOKENS,
            export_root=root, name="char_greedy_xla", jit_compile=True,
        ),
        "word": seqkit.export_language_model(
            word_model, word_vocabulary, level="word", strategy="random", max_new_tokens=5, temperature=1.0,
            export_root=root, name="word_xla", jit_compile=True,
        ),
    }
    random_path, greedy_path, word_path = str(random_path), str(greedy_path), str(word_path)
    word_greedy_path = str(word_greedy_path)
    xla_paths = {key: str(path) for key, path in xla_paths.items()}
    jobs = {
        "serve": (random_path, "serving_default", {"prompts": strings(PROMPTS)}),
        "serve_empty": (random_path, "serving_default", {"prompts": strings([])}),
        "gen_seed3_a": (random_path, "generate", generate_inputs(BATCH_OF_8, 7, 0.5, 3)),
        "gen_seed3_b": (random_path, "generate", generate_inputs(BATCH_OF_8, 7, 0.5, 3)),
        "gen_seed4": (random_path, "generate", generate_inputs(BATCH_OF_8, 7, 0.5, 4)),
        "score": (random_path, "score", {"text": strings(SCORE_TEXTS)}),
        "score_empty_batch": (random_path, "score", {"text": strings([])}),
        "greedy_a": (greedy_path, "serving_default", {"prompts": strings(PROMPTS + ["the lazy"])}),
        "greedy_b": (greedy_path, "serving_default", {"prompts": strings(PROMPTS + ["the lazy"])}),
        "word": (word_path, "generate", generate_inputs(["the cat"] * 8, 5, 1.0, 1)),
        "word_serve": (word_path, "serving_default", {"prompts": strings(["the cat", "The Cat ", ""])}),
        "word_score": (word_path, "score", {"text": strings(WORD_SCORE_TEXTS)}),
        "word_greedy": (word_greedy_path, "serving_default", {"prompts": strings(WORD_PROMPTS)}),
        "word_greedy_multiline": (word_greedy_path, "serving_default", {"prompts": strings(MULTILINE_WORD_PROMPTS)}),
        "xla:serve": (xla_paths["random"], "serving_default", {"prompts": strings(PROMPTS)}),
        "xla:gen_seed3_a": (xla_paths["random"], "generate", generate_inputs(BATCH_OF_8, 7, 0.5, 3)),
        "xla:gen_seed3_b": (xla_paths["random"], "generate", generate_inputs(BATCH_OF_8, 7, 0.5, 3)),
        "xla:gen_seed4": (xla_paths["random"], "generate", generate_inputs(BATCH_OF_8, 7, 0.5, 4)),
        # 70 new tokens: wider than one 64-token bucket.
        "xla:long": (xla_paths["random"], "generate", generate_inputs(BATCH_OF_8[:3], 70, 0.8, 0)),
        "xla:greedy_a": (xla_paths["greedy"], "serving_default", {"prompts": strings(PROMPTS + ["the lazy"])}),
        "xla:greedy_b": (xla_paths["greedy"], "serving_default", {"prompts": strings(PROMPTS + ["the lazy"])}),
        "xla:word": (xla_paths["word"], "generate", generate_inputs(["the cat"] * 8, 5, 1.0, 1)),
        "xla:word_serve": (xla_paths["word"], "serving_default", {"prompts": strings(["the cat", "The Cat ", ""])}),
        # Last, so that a failure cannot disturb the others.
        "zero_temperature": (random_path, "generate", generate_inputs(["ab"], 3, 0.0, 0)),
        "xla:zero_temperature": (xla_paths["random"], "generate", generate_inputs(["ab"], 3, 0.0, 0)),
        "over_limit": (random_path, "generate", generate_inputs(["ab"], 10_001, 1.0, 0)),
        "xla:over_limit": (xla_paths["random"], "generate", generate_inputs(["ab"], 10_001, 1.0, 0)),
    }
    served = serve([{"path": path, "signature": signature, "inputs": inputs}
                    for path, signature, inputs in jobs.values()])
    return {
        "root": root,
        "paths": {"random": random_path, "greedy": greedy_path, "word": word_path},
        "xla_paths": xla_paths,
        "char": (char_model, char_vocabulary),
        "word": (word_model, word_vocabulary),
        "word_vocabulary": word_vocabulary,
        "out": dict(zip(jobs, served)),
    }


def values(outputs, key):
    return outputs[key]["value"]


# The plain export and the one whose sampling loop XLA compiles (`jit_compile=True`) must behave alike.
VARIANTS = pytest.mark.parametrize("prefix", ["", "xla:"], ids=["plain", "xla"])


def test_signatures_and_metadata(exported):
    assert {"serving_default", "generate", "score"} <= set(exported["out"]["serve"]["_signatures"])
    metadata = json.loads((exported["root"] / "char_random" / "1" / "seqkit.json").read_text())
    assert metadata["format"] == "seqkit.language_model"
    assert metadata["level"] == "char" and metadata["strategy"] == "random"
    assert metadata["defaults"]["max_new_tokens"] == DEFAULT_NEW_TOKENS
    assert metadata["vocabulary_size"] == exported["char"][1].size


@VARIANTS
def test_serving_default_continues_each_prompt(exported, prefix):
    outputs = exported["out"][prefix + "serve"]
    assert "error" not in outputs, outputs
    for key in ("text", "continuation"):
        assert outputs[key]["dtype"] == "string"
        assert outputs[key]["shape"] == [3]
    for prompt, text, continuation in zip(PROMPTS, values(outputs, "text"), values(outputs, "continuation")):
        assert text.startswith(prompt)
        assert text == prompt + continuation
        # Characters never end (<eos> is never drawn), and no special token is generated.
        assert len(continuation) == DEFAULT_NEW_TOKENS, continuation
        assert set(continuation) <= set(exported["char"][1].tokens[4:])


def test_xla_export_is_marked_and_generates_past_a_width_bucket(exported):
    for name, path in exported["xla_paths"].items():
        assert json.loads((Path(path) / "seqkit.json").read_text())["jit_compile"] is True, name
        assert b"_XlaMustCompile" in (Path(path) / "saved_model.pb").read_bytes(), name  # The loop is compiled.
    plain = Path(exported["paths"]["random"])
    assert json.loads((plain / "seqkit.json").read_text())["jit_compile"] is False
    assert b"_XlaMustCompile" not in (plain / "saved_model.pb").read_bytes()
    outputs = exported["out"]["xla:long"]
    assert "error" not in outputs, outputs
    for prompt, text, continuation in zip(BATCH_OF_8[:3], values(outputs, "text"), values(outputs, "continuation")):
        assert len(continuation) == 70 and text == prompt + continuation


def test_empty_batch(exported):
    for name in ("serve_empty", "score_empty_batch"):
        outputs = exported["out"][name]
        assert "error" not in outputs, (name, outputs)
        assert all(entry["shape"] == [0] for key, entry in outputs.items() if key != "_signatures"), outputs


@VARIANTS
def test_generate_lengths_and_seeds(exported, prefix):
    first, again, other = (exported["out"][prefix + name] for name in ("gen_seed3_a", "gen_seed3_b", "gen_seed4"))
    for outputs in (first, again, other):
        assert "error" not in outputs, outputs
        assert outputs["text"]["shape"] == outputs["continuation"]["shape"] == [len(BATCH_OF_8)]
        for prompt, text, continuation in zip(BATCH_OF_8, values(outputs, "text"), values(outputs, "continuation")):
            assert len(continuation) == 7, continuation
            assert text == prompt + continuation
    assert values(first, "text") == values(again, "text")
    assert values(first, "continuation") != values(other, "continuation")


def test_score_matches_python(exported):
    model, vocabulary = exported["char"]
    outputs = exported["out"]["score"]
    assert "error" not in outputs, outputs
    expected = score(model, vocabulary, SCORE_TEXTS, level="char")
    assert values(outputs, "num_tokens") == [result["num_tokens"] for result in expected]
    assert outputs["num_tokens"]["dtype"] == "int32"
    for served_log_prob, served_perplexity, result in zip(
        values(outputs, "log_prob"), values(outputs, "perplexity"), expected
    ):
        assert served_log_prob == pytest.approx(result["log_prob"], abs=1e-4)
        if result["num_tokens"]:
            assert served_log_prob < 0
            assert served_perplexity == pytest.approx(result["perplexity"], rel=1e-4)
        else:
            assert served_log_prob == 0.0 and math.isnan(served_perplexity)
    assert values(outputs, "num_tokens")[1] == 0  # The empty text.


@VARIANTS
def test_zero_temperature_is_an_error(exported, prefix):
    outputs = exported["out"][prefix + "zero_temperature"]
    assert "error" in outputs, outputs
    assert "temperature must be > 0" in outputs["error"]


@VARIANTS
def test_max_new_tokens_over_the_limit_is_an_error(exported, prefix):
    outputs = exported["out"][prefix + "over_limit"]
    assert "error" in outputs, outputs
    assert "max_new_tokens must be <= 10000 (max_new_tokens_limit of this export)" in outputs["error"]


@VARIANTS
def test_greedy_export_matches_python_generate(exported, prefix):
    model, vocabulary = exported["char"]
    prompts = PROMPTS + ["the lazy"]
    first, again = exported["out"][prefix + "greedy_a"], exported["out"][prefix + "greedy_b"]
    assert "error" not in first, first
    assert values(first, "text") == values(again, "text")
    expected = generate(model, vocabulary, prompts, strategy="greedy", max_new_tokens=GREEDY_NEW_TOKENS)
    assert values(first, "text") == expected
    for prompt, text, continuation in zip(prompts, values(first, "text"), values(first, "continuation")):
        assert text.startswith(prompt) and text == prompt + continuation
        assert len(continuation) == GREEDY_NEW_TOKENS


@VARIANTS
def test_word_level_export(exported, prefix):
    words = set(exported["word_vocabulary"].tokens[4:])
    for name, prompts in (("word", ["the cat"] * 8), ("word_serve", ["the cat", "The Cat ", ""])):
        outputs = exported["out"][prefix + name]
        assert "error" not in outputs, (name, outputs)
        for prompt, text, continuation in zip(prompts, values(outputs, "text"), values(outputs, "continuation")):
            assert text.startswith(prompt)
            for special in SPECIALS:
                assert special not in text, text
            if continuation:
                assert continuation.split(" ") and all(continuation.split(" ")), continuation  # Single spaces.
                assert set(continuation.split(" ")) <= words, continuation
                joiner = "" if (not prompt or prompt[-1].isspace()) else " "
                assert text == prompt + joiner + continuation
            else:
                assert text == prompt
    continuations = values(exported["out"][prefix + "word"], "continuation")
    assert any(continuations), continuations  # Untrained: <eos> first in all 8 rows is very unlikely.
    for text in values(exported["out"][prefix + "word"], "text"):
        assert "  " not in text and text.startswith("the cat")


def test_word_level_score_matches_python(exported):
    model, vocabulary = exported["word"]
    outputs = exported["out"]["word_score"]
    assert "error" not in outputs, outputs
    expected = score(model, vocabulary, WORD_SCORE_TEXTS, level="word")
    assert values(outputs, "num_tokens") == [result["num_tokens"] for result in expected] == [3, 0, 4, 4, 2]  # No <eos> between lines.
    for served, result in zip(values(outputs, "log_prob"), expected):
        assert served == pytest.approx(result["log_prob"], abs=1e-4)


def test_word_level_greedy_export_matches_python_generate(exported):
    model, vocabulary = exported["word"]
    outputs = exported["out"]["word_greedy"]
    assert "error" not in outputs, outputs
    expected = generate(model, vocabulary, WORD_PROMPTS, level="word", strategy="greedy",
                        max_new_tokens=GREEDY_NEW_TOKENS)
    assert values(outputs, "text") == expected


def test_word_level_greedy_export_matches_python_generate_on_multiline_prompts(exported):
    model, vocabulary = exported["word"]
    outputs = exported["out"]["word_greedy_multiline"]
    assert "error" not in outputs, outputs
    expected = generate(model, vocabulary, MULTILINE_WORD_PROMPTS, level="word", strategy="greedy",
                        max_new_tokens=GREEDY_NEW_TOKENS)
    assert values(outputs, "text") == expected
