"""Tagger export: raw-text and pre-tokenized signatures served by plain TensorFlow, and entity spans."""

import hashlib
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

import seqkit
from seqkit.data import tag_schemes
from seqkit.data.tag_features import CASING_NAMES
from seqkit.export import _entity_spans
from seqkit.models.tagger import decode_tags, predict_tag_names

OUTPUT_KEYS = {
    "tokens", "tags", "lengths", "entity_text", "entity_type", "entity_start", "entity_end", "num_entities",
}

# A tiny synthetic task: people's names are PER, cities are LOC, the rest is O.
PEOPLE = ["John", "Smith", "Mary", "Jones", "Anna", "Peter", "Brown"]
PLACES = ["Paris", "Berlin", "London", "Zürich", "Madrid"]
FILLER = ["the", "went", "to", "saw", "and", "with", "said", "in", "on", "a", "today", ",", "."]

TEXTS = [
    "John Smith went to Paris.",
    "",
    "Mary's friend didn't see Anna Jones in Berlin, did she?",
    'The U.S. firm\'s CEO, Peter Brown, said: "London" -- today... (Zürich) & Madrid!',
    "   ",
    "Berlin",
]
TOKEN_ROWS = [
    ["John", "Smith", "went", "to", "Paris", "."],
    ["Mary", "saw", "Zürich", "", "", ""],
    ["", "", "", "", "", ""],
    ["Berlin", "Anna", "Jones", "London", "Madrid", "Peter"],
    ["unknownword", "", "", "", "", ""],
]

# Loads exports with plain TensorFlow in a fresh process where `import seqkit` fails.
# Reads a JSON list of jobs on stdin: {"path", "signature", "inputs"}; prints a JSON list of outputs.
SERVE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.modules["seqkit"] = None  # Any attempt to import seqkit now raises ImportError.
    import tensorflow as tf
    loaded, results = {}, []
    for job in json.loads(sys.stdin.read()):
        if job["path"] not in loaded:
            loaded[job["path"]] = tf.saved_model.load(job["path"])
        function = loaded[job["path"]].signatures[job["signature"]]
        argument = "text" if job["signature"] == "serving_default" else "tokens"
        outputs = function(**{argument: tf.constant(job["inputs"], dtype=tf.string)})
        results.append({key: {"value": value.numpy().tolist(), "shape": list(value.shape), "dtype": value.dtype.name}
                        for key, value in outputs.items()})
    print(json.dumps(results, default=lambda b: b.decode("utf-8")))
    """
)


def serve(jobs):
    result = subprocess.run(
        [sys.executable, "-c", SERVE_SCRIPT], input=json.dumps(jobs), capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def synthetic_sentences(count, seed):
    """Sentences of filler words, people (1-3 tokens, PER) and cities (1-2 tokens, LOC), with BIO tags."""
    rng = np.random.default_rng(seed)
    sentences, tags = [], []
    for _ in range(count):
        tokens, labels = [], []
        for _ in range(rng.integers(1, 6)):
            kind = rng.choice(["O", "O", "PER", "LOC"])
            if kind == "O":
                words = list(rng.choice(FILLER, size=rng.integers(1, 3)))
                tokens += words
                labels += ["O"] * len(words)
            else:
                words = list(rng.choice(PEOPLE if kind == "PER" else PLACES, size=rng.integers(1, 4 if kind == "PER" else 3)))
                tokens += words
                labels += [f"B-{kind}"] + [f"I-{kind}"] * (len(words) - 1)
        sentences.append([str(token) for token in tokens])
        tags.append(labels)
    return sentences, tags


def make_tagger(featurizer, tag_names, output, scheme):
    return seqkit.build_tagger(
        featurizer.word_vocabulary.size, tag_names, featurizer.char_vocabulary.size, len(CASING_NAMES),
        word_embedding_dim=16, char_embedding_dim=8, char_hidden_dim=8, casing_dim=4, units=16,
        embedding_dropout=0.0, output_dropout=0.0, output=output, tag_scheme=scheme,
    )


def train(model, featurizer, sentences, tags, tag_names, epochs=8):
    index = {tag: i for i, tag in enumerate(tag_names)}
    inputs = featurizer.encode(sentences)
    targets = np.full(inputs["words"].shape, -1, "int32")
    for row, labels in enumerate(tags):
        targets[row, : len(labels)] = [index[tag] for tag in labels]
    seqkit.compile_tagger(model, learning_rate=0.02)
    model.fit({key: inputs[key] for key in model.input}, targets, batch_size=32, epochs=epochs, verbose=0)


def in_process_tags(model, featurizer, tag_names, token_rows):
    """Tag names (the model's own scheme) per row, decoded in process; empty rows give []."""
    rows = [i for i, row in enumerate(token_rows) if row]
    result = [[] for _ in token_rows]
    if rows:
        inputs = featurizer.encode([token_rows[i] for i in rows])
        ids = decode_tags(model, inputs)
        for position, i in enumerate(rows):
            result[i] = [tag_names[t] for t in ids[position, : len(token_rows[i])]]
    return result


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """Four exported taggers (CRF/softmax x BIO/BIOES), served once in a seqkit-free subprocess."""
    seqkit.set_seed(0)
    sentences, bio_tags = synthetic_sentences(240, seed=0)
    bioes_tags = [tag_schemes.convert(row, "bio", "bioes") for row in bio_tags]
    featurizer = seqkit.TagFeaturizer.build(sentences)
    root = tmp_path_factory.mktemp("exports")
    models = {}
    for name, output, scheme, trained in (
        ("crf_bio", "crf", "bio", True),
        ("softmax_bio", "softmax", "bio", False),
        ("crf_bioes", "crf", "bioes", True),
        ("softmax_bioes", "softmax", "bioes", False),
    ):
        tags = bio_tags if scheme == "bio" else bioes_tags
        tag_names = ["O"] + sorted({tag for row in tags for tag in row} - {"O"})
        model = make_tagger(featurizer, tag_names, output, scheme)
        if trained:
            train(model, featurizer, sentences, tags, tag_names)
        else:
            # Large random emission weights: an untrained softmax tagger that emits every kind of
            # malformed sequence (stray I-/E-, type changes), to exercise the span reading.
            emissions = model.get_layer("emissions")
            rng = np.random.default_rng(1)
            emissions.kernel.assign(rng.normal(0, 3, emissions.kernel.shape).astype("float32"))
        path = seqkit.export_tagger(model, featurizer, tag_names, export_root=root, name=name,
                                    extra_files={"metrics.json": json.dumps({"f1": 0.5})})
        models[name] = {"model": model, "tag_names": tag_names, "scheme": scheme, "path": path}
    jobs = []
    for name, entry in models.items():
        jobs.append({"path": str(entry["path"]), "signature": "serving_default", "inputs": TEXTS})
        jobs.append({"path": str(entry["path"]), "signature": "tag_tokens", "inputs": TOKEN_ROWS})
    # Edge cases, served separately so they cannot disturb the main batches.
    crf_path = str(models["crf_bio"]["path"])
    jobs.append({"path": crf_path, "signature": "serving_default", "inputs": ["", "  \t "]})
    jobs.append({"path": crf_path, "signature": "tag_tokens", "inputs": [["", ""], ["", ""]]})
    jobs.append({"path": crf_path, "signature": "tag_tokens", "inputs": [["John", "<PAD>", "Smith"]]})
    served = serve(jobs)
    for position, entry in enumerate(models.values()):
        entry["text"], entry["tokens"] = served[2 * position], served[2 * position + 1]
    return {"featurizer": featurizer, "root": root, "models": models, "edge": served[2 * len(models):]}


def values(outputs, key):
    return outputs[key]["value"]


def check_outputs(outputs, token_rows, expected_tags, scheme):
    """Tokens, tags, lengths and padded entity spans of one signature's outputs."""
    assert set(outputs) == OUTPUT_KEYS
    batch = len(token_rows)
    width = max([len(row) for row in token_rows], default=0)
    assert outputs["tokens"]["shape"] == outputs["tags"]["shape"] == [batch, width]
    assert values(outputs, "lengths") == [len(row) for row in token_rows]
    assert outputs["lengths"]["dtype"] == outputs["num_entities"]["dtype"] == "int32"
    max_entities = max(values(outputs, "num_entities"), default=0)
    for key in ("entity_text", "entity_type", "entity_start", "entity_end"):
        assert outputs[key]["shape"] == [batch, max_entities], key
    for row, (tokens, expected) in enumerate(zip(token_rows, expected_tags)):
        length = len(tokens)
        served_tokens, served_tags = values(outputs, "tokens")[row], values(outputs, "tags")[row]
        assert served_tokens == tokens + [""] * (width - length)
        assert served_tags == expected + [""] * (width - length)
        assert all(served_tags[:length])  # Every real token has a tag.
        spans = tag_schemes.spans(served_tags[:length], scheme=scheme)
        count = values(outputs, "num_entities")[row]
        assert count == len(spans)
        padding = max_entities - count
        assert values(outputs, "entity_type")[row] == [t for t, _, _ in spans] + [""] * padding
        assert values(outputs, "entity_start")[row] == [s for _, s, _ in spans] + [-1] * padding
        assert values(outputs, "entity_end")[row] == [e for _, _, e in spans] + [-1] * padding
        assert values(outputs, "entity_text")[row] == [" ".join(tokens[s:e]) for _, s, e in spans] + [""] * padding


MODELS = ["crf_bio", "softmax_bio", "crf_bioes", "softmax_bioes"]


@pytest.mark.parametrize("name", MODELS)
def test_raw_text_signature_matches_in_process_tagging(exports, name):
    entry = exports["models"][name]
    token_rows = seqkit.NewsTokenizer()(TEXTS)
    assert token_rows[1] == [] and token_rows[4] == []  # The empty and blank sentences.
    assert "'s" in token_rows[2] and "n't" in token_rows[2] and "U.S." in token_rows[3]
    expected = in_process_tags(entry["model"], exports["featurizer"], entry["tag_names"], token_rows)
    check_outputs(entry["text"], token_rows, expected, entry["scheme"])
    # The BIO view equals what the recipe scores (`predict_tag_names`).
    featurizer, nonempty = exports["featurizer"], [row for row in token_rows if row]
    predicted = predict_tag_names(entry["model"], featurizer.encode(nonempty), [len(r) for r in nonempty],
                                  entry["tag_names"], entry["scheme"])
    served_bio = [tag_schemes.convert(row[: len(tokens)], entry["scheme"], "bio")
                  for row, tokens in zip(values(entry["text"], "tags"), token_rows) if tokens]
    assert served_bio == predicted
    # Empty sentences: length 0, no entities.
    for row in (1, 4):
        assert values(entry["text"], "lengths")[row] == 0
        assert values(entry["text"], "num_entities")[row] == 0


@pytest.mark.parametrize("name", MODELS)
def test_token_signature_matches_in_process_tagging(exports, name):
    entry = exports["models"][name]
    token_rows = [[token for token in row if token] for row in TOKEN_ROWS]
    expected = in_process_tags(entry["model"], exports["featurizer"], entry["tag_names"], token_rows)
    check_outputs(entry["tokens"], token_rows, expected, entry["scheme"])
    assert values(entry["tokens"], "lengths")[2] == 0 and values(entry["tokens"], "num_entities")[2] == 0


def test_trained_taggers_find_the_entities(exports):
    """The trained CRF taggers really tag: both entity types, and (BIOES) S-/E- tags, come back."""
    for name in ("crf_bio", "crf_bioes"):
        entry = exports["models"][name]
        outputs = entry["tokens"]
        found = {(text, kind) for row_text, row_type in zip(values(outputs, "entity_text"), values(outputs, "entity_type"))
                 for text, kind in zip(row_text, row_type) if text}
        assert ("John Smith", "PER") in found, (name, found)
        assert ("Paris", "LOC") in found, (name, found)
        assert ("Anna Jones", "PER") in found, (name, found)
    bioes_tags = {tag for row in values(exports["models"]["crf_bioes"]["tokens"], "tags") for tag in row}
    assert {"S-LOC", "B-PER", "E-PER"} <= bioes_tags
    # The served BIOES tags are valid under the CRF's constraints.
    for row, length in zip(values(exports["models"]["crf_bioes"]["text"], "tags"),
                           values(exports["models"]["crf_bioes"]["text"], "lengths")):
        assert tag_schemes.bioes_errors(row[:length]) == []


def test_untrained_softmax_outputs_exercise_malformed_sequences(exports):
    """The random softmax taggers do emit stray I-/E- tags, so the span checks above cover them."""
    bio_rows = [row[:length] for name in ("softmax_bio",) for outputs in (exports["models"][name]["text"],
                exports["models"][name]["tokens"]) for row, length in zip(values(outputs, "tags"), values(outputs, "lengths"))]
    assert any(tag_schemes.bio_errors(row) for row in bio_rows)
    bioes_rows = [row[:length] for outputs in (exports["models"]["softmax_bioes"]["text"], exports["models"]["softmax_bioes"]["tokens"])
                  for row, length in zip(values(outputs, "tags"), values(outputs, "lengths"))]
    assert any(tag_schemes.bioes_errors(row) for row in bioes_rows)


def test_all_empty_batches(exports):
    blank_text, blank_tokens = exports["edge"][0], exports["edge"][1]
    for outputs in (blank_text, blank_tokens):
        assert set(outputs) == OUTPUT_KEYS
        assert values(outputs, "lengths") == [0, 0]
        assert values(outputs, "num_entities") == [0, 0]
        assert outputs["tokens"]["shape"] == outputs["tags"]["shape"] == [2, 0]
        assert outputs["entity_text"]["shape"] == outputs["entity_start"]["shape"] == [2, 0]


def test_a_literal_pad_token_is_tagged(exports):
    outputs = exports["edge"][2]
    assert values(outputs, "lengths") == [3]
    assert all(values(outputs, "tags")[0])


def test_metadata_and_extra_files(exports):
    for name, entry in exports["models"].items():
        path = entry["path"]
        assert path == exports["root"] / name / "1"
        metadata = json.loads((path / "seqkit.json").read_text())
        assert metadata["format"] == "seqkit.tagger"
        assert metadata["tag_names"] == entry["tag_names"]
        assert metadata["entity_types"] == ["LOC", "PER"]
        assert metadata["output"] == name.split("_")[0]
        assert metadata["tokenizer"]["type"] == "news"
        assert metadata["word_vocabulary_size"] == exports["featurizer"].word_vocabulary.size
        assert json.loads((path / "metrics.json").read_text()) == {"f1": 0.5}
    assert any(tag.startswith("S-") for tag in exports["models"]["crf_bioes"]["tag_names"])
    assert any(tag.startswith("E-") for tag in exports["models"]["crf_bioes"]["tag_names"])


def snapshot(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow  # Default-run budget (10 min on 2 cores); `pytest -m slow` runs it.
def test_second_export_is_version_2_and_leaves_version_1_alone(exports, tmp_path):
    entry = exports["models"]["crf_bio"]
    first = seqkit.export_tagger(entry["model"], exports["featurizer"], entry["tag_names"], export_root=tmp_path,
                                 name="ner", extra_files={"metrics.json": '{"f1": 1}'})
    before = snapshot(first)
    assert "saved_model.pb" in before and "seqkit.json" in before
    second = seqkit.export_tagger(entry["model"], exports["featurizer"], entry["tag_names"], export_root=tmp_path,
                                  name="ner", extra_files={"metrics.json": '{"f1": 2}'})
    assert (first, second) == (tmp_path / "ner" / "1", tmp_path / "ner" / "2")
    assert snapshot(first) == before
    assert json.loads((second / "metrics.json").read_text()) == {"f1": 2}
    assert sorted(p.name for p in (tmp_path / "ner").iterdir()) == ["1", "2"]


# === _entity_spans on its own (eager TF) ===


def span_tables(tag_names):
    """The lookup tables `export_tagger` hands to `_entity_spans`."""
    types = sorted({tag[2:] for tag in tag_names if tag != "O"})
    prefix = tf.constant([0 if tag == "O" else (1 if tag[0] in "BS" else 2) for tag in tag_names], tf.int32)
    kind = tf.constant([-1 if tag == "O" else types.index(tag[2:]) for tag in tag_names], tf.int32)
    return prefix, kind, tf.constant(types or [""], tf.string)


def check_entity_spans(tag_names, rows, scheme, rng):
    """Runs `_entity_spans` on a padded batch of tag-name rows and compares with `tag_schemes.spans`."""
    index = {tag: i for i, tag in enumerate(tag_names)}
    width = max([len(row) for row in rows], default=0)
    tokens = [[f"w{r}.{i}" for i in range(len(row))] + [""] * (width - len(row)) for r, row in enumerate(rows)]
    # Padding positions hold arbitrary ids: the mask alone must keep them out.
    ids = rng.integers(0, len(tag_names), size=(len(rows), width)).astype("int32")
    mask = np.zeros((len(rows), width), bool)
    for r, row in enumerate(rows):
        ids[r, : len(row)] = [index[tag] for tag in row]
        mask[r, : len(row)] = True
    result = _entity_spans(tf.constant(tokens, tf.string, shape=(len(rows), width)), tf.constant(ids), tf.constant(mask),
                           *span_tables(tag_names))
    result = {key: value.numpy() for key, value in result.items()}
    max_entities = result["entity_text"].shape[1]
    assert max_entities == max([len(tag_schemes.spans(row, scheme)) for row in rows], default=0)
    for r, row in enumerate(rows):
        spans = tag_schemes.spans(row, scheme)
        count = len(spans)
        padding = max_entities - count
        assert result["num_entities"][r] == count, row
        got = list(zip([t.decode() for t in result["entity_type"][r][:count]], result["entity_start"][r][:count].tolist(),
                       result["entity_end"][r][:count].tolist()))
        assert got == spans, row
        assert [t.decode() for t in result["entity_text"][r][:count]] == [" ".join(tokens[r][s:e]) for _, s, e in spans]
        assert result["entity_type"][r][count:].tolist() == [b""] * padding
        assert result["entity_text"][r][count:].tolist() == [b""] * padding
        assert result["entity_start"][r][count:].tolist() == [-1] * padding
        assert result["entity_end"][r][count:].tolist() == [-1] * padding


BIO_NAMES = ["O", "B-LOC", "B-PER", "I-LOC", "I-PER", "B-ORG", "I-ORG"]
BIOES_NAMES = ["O"] + [f"{p}-{t}" for t in ("LOC", "PER") for p in "BIES"]


def test_entity_spans_hand_written_cases():
    rng = np.random.default_rng(0)
    rows = [
        ["B-PER", "I-PER", "O", "B-LOC"],
        ["I-PER"],  # A stray I- starts an entity.
        ["O", "I-PER", "I-PER", "B-PER", "I-PER"],
        ["B-PER", "I-LOC", "I-LOC", "B-LOC", "I-PER"],  # Type changes.
        ["B-ORG", "B-ORG", "B-ORG"],
        ["O", "O"],
        [],
        ["I-ORG", "I-PER", "I-ORG", "I-ORG", "O", "I-LOC"],
    ]
    check_entity_spans(BIO_NAMES, rows, "bio", rng)
    bioes_rows = [
        ["S-PER", "B-LOC", "E-LOC"],
        ["B-PER", "I-PER", "E-PER", "S-PER", "S-PER"],
        ["E-PER", "E-PER", "I-PER", "S-LOC", "I-LOC", "E-PER"],  # Malformed: read as their BIO form.
        ["O"],
        [],
    ]
    check_entity_spans(BIOES_NAMES, bioes_rows, "bioes", rng)


def test_entity_spans_all_rows_empty():
    rng = np.random.default_rng(0)
    check_entity_spans(BIO_NAMES, [[], []], "bio", rng)
    check_entity_spans(["O"], [["O", "O"], []], "bio", rng)  # No entity types at all.


@pytest.mark.parametrize("seed", range(4))
def test_entity_spans_random_sequences(seed):
    rng = np.random.default_rng(seed)
    for names, scheme in ((BIO_NAMES, "bio"), (BIOES_NAMES, "bioes")):
        # Arbitrary tag sequences: mostly malformed (stray I-/E-, type changes).
        rows = [list(rng.choice(names, size=rng.integers(0, 14))) for _ in range(60)]
        # Valid sequences, built from BIO and converted.
        bio_names = [name for name in BIO_NAMES if scheme == "bio" or name[2:] in ("LOC", "PER", "")]
        for _ in range(60):
            row = []
            for _ in range(rng.integers(0, 6)):
                tag = rng.choice(bio_names)
                row += [tag] if tag == "O" else [tag] + [f"I-{tag[2:]}"] * int(rng.integers(0, 3))
            row = tag_schemes.iob1_to_bio(row) if scheme == "bio" else tag_schemes.convert(tag_schemes.iob1_to_bio(row), "bio", "bioes")
            rows.append(row)
        order = rng.permutation(len(rows))
        check_entity_spans(names, [[str(t) for t in rows[i]] for i in order], scheme, rng)
