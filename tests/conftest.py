"""Shared test set-up: the backend, quiet logs, and the real datasets under ../shared/data."""

import importlib.util
import os
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
_SHARED = REPO.parent / "shared" / "data"
if "SEQKIT_DATA_DIR" not in os.environ and _SHARED.is_dir():
    os.environ["SEQKIT_DATA_DIR"] = str(_SHARED)
if os.environ.get("SEQKIT_DATA_DIR"):
    # Absolute, so subprocesses started from another folder find the data too.
    os.environ["SEQKIT_DATA_DIR"] = str(Path(os.environ["SEQKIT_DATA_DIR"]).resolve())


@pytest.fixture(scope="session")
def shared_data():
    """The folder of real datasets; tests that need it skip when it is missing."""
    path = Path(os.environ.get("SEQKIT_DATA_DIR", _SHARED))
    if not path.is_dir():
        pytest.skip(f"real datasets not found at {path} (set SEQKIT_DATA_DIR)")
    return path


def pytest_collection_modifyitems(config, items):
    """Tests marked `slow` run only when asked for (`pytest -m slow`), never in the default run."""
    if "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with `pytest -m slow`")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def load_recipe(name):
    """`recipes/<name>.py` as a module (recipes are scripts, not a package)."""
    return _load_script(f"{name}_recipe", REPO / "recipes" / f"{name}.py")


def load_benchmark(name):
    """`benchmarks/<name>.py` as a module."""
    return _load_script(name, REPO / "benchmarks" / f"{name}.py")


def _load_script(module_name, path):
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def record_calls(monkeypatch, owner, name):
    """Wraps `owner.<name>` so that the last call's first argument (as "model"), its other positional arguments
    (as "args") and its keyword arguments land in the returned dict."""
    calls = {}
    function = getattr(owner, name)

    def wrapper(model, *args, **kwargs):
        calls.update(model=model, args=args, **kwargs)
        return function(model, *args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)
    return calls


TAGGED_SENTENCES = [["Alice", "went", "to", "Paris", "."], ["Bob", "saw", "the", "sea"],
                    ["Paris", "and", "Rome", "said", "hi"]]


@pytest.fixture(scope="session")
def tiny_exports(tmp_path_factory):
    """Untrained (seeded) exports of each kind, built once per test process: their outputs are arbitrary but
    fixed, enough to check serving, the `seqkit` command and odd input."""
    import seqkit
    from seqkit.data import TextPreprocessor, Vocabulary
    from seqkit.data.tag_features import CASING_NAMES
    from seqkit.models import language_model, seq2seq

    root = tmp_path_factory.mktemp("tiny_exports")
    seqkit.set_seed(0)
    words = Vocabulary.build([["good", "bad", "film", "plot", "a", "the"]])
    classifier = seqkit.build_classifier(words.size, embedding_dim=8, units=4)
    words_in = TextPreprocessor("word", words)
    words_in(["a film"])  # Built by a first call, as training would.
    paths = {"classifier": seqkit.export_classifier(classifier, words_in, ["neg", "pos"], export_root=root,
                                                    name="classifier")}
    featurizer = seqkit.TagFeaturizer.build(TAGGED_SENTENCES)
    tag_names = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    tagger = seqkit.build_tagger(featurizer.word_vocabulary.size, tag_names, featurizer.char_vocabulary.size,
                                 len(CASING_NAMES), word_embedding_dim=8, char_embedding_dim=4, char_hidden_dim=4,
                                 casing_dim=2, units=8)
    features = featurizer.encode(TAGGED_SENTENCES)  # Built by a first call, as training would.
    tagger({key: features[key] for key in tagger.input})
    paths["tagger"] = seqkit.export_tagger(tagger, featurizer, tag_names, export_root=root, name="tagger")
    characters = Vocabulary.build([list("abcdefgh ")])
    lm = language_model.build_language_model(characters.size, embedding_dim=8, units=8, num_layers=1)
    paths["lm"] = seqkit.export_language_model(lm, characters, level="char", max_new_tokens=5, export_root=root,
                                               name="lm")
    source = TextPreprocessor("char", Vocabulary.build([list("0123456789/")]), max_length=64)
    source(["12/12"])
    target = Vocabulary.build([list("0123456789-")])
    model = seq2seq.build_seq2seq(source.vocabulary.size, target.size, embedding_dim=6, units=8, attention_units=5)
    paths["seq2seq"] = seqkit.export_seq2seq(model, source, target, target_level="char", max_length=6, num_beams=2,
                                             export_root=root, name="seq2seq")
    return paths
