"""The `seqkit` command: train recipes, predict with and evaluate exported models, list datasets.

    seqkit train dates --quick                         # any recipe, with its --key=value options
    seqkit train ner --config=runs/ner/config.json     # reproduce a run from the config it recorded
    seqkit evaluate ner --config=runs/ner/config.json  # the same, scored and not exported
    seqkit predict saved_models/dates/1 "the 3rd of March 1998" "03/03/98"
    seqkit evaluate saved_models/ner/1 test.conll      # score an export on a labelled file
    seqkit export ner --config=runs/ner/config.json    # train and export (the recipe's own export)
    seqkit datasets list
    seqkit datasets info conll2003

`seqkit evaluate PATH FILE` reads FILE as the export's task expects: a CSV/TSV
table for a classifier (`--text-column`, `--label-column`), a CoNLL file for a
tagger (`--token-column`, `--tag-column`, `--scheme`), a text file for a language
model (one text per line), and a TSV of pairs for an encoder-decoder.
Bad input ends with one `error: ...` line and exit code 2.
"""

import dataclasses
import importlib
import importlib.util
import json
import math
import sys
from pathlib import Path

RECIPES = ("sentiment", "ner", "textgen", "dates", "translate", "hello", "long_memory")
RECIPE_FOLDER = Path(__file__).resolve().parent.parent / "recipes"
BATCH_SIZE = 256


class CommandError(ValueError):
    """A bad `seqkit` command line."""


# === Recipes ===


def load_recipe(name):
    """The recipe module `name` (installed as `seqkit.recipes`, or a source checkout's `recipes/`)."""
    if name not in RECIPES:
        raise CommandError(f"Unknown recipe {name!r}. Expected one of: {', '.join(RECIPES)}")
    try:
        return importlib.import_module(f"seqkit.recipes.{name}")
    except ModuleNotFoundError as error:
        if not error.name.startswith("seqkit.recipes"):
            raise
    path = RECIPE_FOLDER / f"{name}.py"
    if not path.exists():
        raise CommandError(f"Recipe {name!r} is not installed and {path} does not exist.")
    spec = importlib.util.spec_from_file_location(f"seqkit_recipe_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_recipe(name, options, extra=()):
    """Runs `recipes/<name>.py` with `options` (its `--key=value` arguments) and `extra` ones after them."""
    return load_recipe(name).main([*options, *extra])


# === Exported models ===


def load_export(path):
    """`(signatures holder, seqkit.json metadata)` of a SavedModel written by `seqkit.export`."""
    folder = Path(path)
    if not (folder / "saved_model.pb").exists():
        raise CommandError(f"{folder} is not a SavedModel folder (no saved_model.pb). "
                           "Expected e.g. saved_models/<name>/<version>.")
    metadata_path = folder / "seqkit.json"
    metadata = json.loads(metadata_path.read_text(encoding="utf-8")) if metadata_path.exists() else {}
    import tensorflow as tf

    return tf.saved_model.load(str(folder)), metadata


def call_signature(loaded, texts, signature="serving_default", **arguments):
    """Calls a string-input signature on `texts` in batches; returns `{output: numpy array}`."""
    import numpy as np
    import tensorflow as tf

    from seqkit.data.bucketing import concatenate_padded

    if signature not in loaded.signatures:
        raise CommandError(f"The export has no {signature!r} signature. It has: {sorted(loaded.signatures)}")
    function = loaded.signatures[signature]
    string_inputs = [name for name, spec in function.structured_input_signature[1].items() if spec.dtype == tf.string]
    parts = []
    for begin in range(0, max(len(texts), 1), BATCH_SIZE):
        batch = texts[begin : begin + BATCH_SIZE]
        parts.append({key: value.numpy() for key, value in
                      function(**{string_inputs[0]: tf.constant(batch, tf.string)}, **arguments).items()})
    if len(parts) == 1:
        return parts[0]
    joined = {}
    for key in parts[0]:
        arrays = [part[key] for part in parts]
        if arrays[0].ndim > 1:  # Padded per batch: pad to the widest before joining.
            fill = b"" if arrays[0].dtype == object else (-1 if "entity_" in key else 0)
            joined[key] = concatenate_padded(arrays, fill)
        else:
            joined[key] = np.concatenate(arrays)
    return joined


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def readable(metadata, outputs):
    """One dict of plain Python values per input row, named for the export's task."""
    kind = metadata.get("format", "")
    rows = len(next(iter(outputs.values())))
    results = []
    for row in range(rows):
        if kind == "seqkit.classifier" and "value" in outputs:
            results.append({"value": float(outputs["value"][row])})
        elif kind == "seqkit.classifier":
            names = metadata.get("label_names") or []
            probabilities = [float(p) for p in outputs["probabilities"][row]]
            if metadata.get("head") == "binary":
                names = names or ["0", "1"]
            results.append({"label": _text(outputs["labels"][row]),
                            "probabilities": dict(zip(names, probabilities)) if names else probabilities})
        elif kind == "seqkit.tagger":
            length = int(outputs["lengths"][row])
            count = int(outputs["num_entities"][row])
            results.append({
                "tokens": [_text(t) for t in outputs["tokens"][row][:length]],
                "tags": [_text(t) for t in outputs["tags"][row][:length]],
                "entities": [{"text": _text(outputs["entity_text"][row][i]), "type": _text(outputs["entity_type"][row][i]),
                              "start": int(outputs["entity_start"][row][i]), "end": int(outputs["entity_end"][row][i])}
                             for i in range(count)],
            })
        elif kind == "seqkit.language_model" and "text" in outputs:
            results.append({"text": _text(outputs["text"][row])})
        elif kind == "seqkit.seq2seq":
            results.append({"output": _text(outputs["output"][row])})
        else:  # Any other signature: every output, as lists.
            results.append({key: _plain(value[row]) for key, value in outputs.items()})
    return results


def _plain(value):
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return _text(value) if isinstance(value, bytes) else value


def line_of(metadata, text, result):
    """The human-readable line `seqkit predict` prints for one input."""
    if "label" in result:
        probability = max(result["probabilities"].values()) if isinstance(result["probabilities"], dict) else None
        return f"{result['label']}" + (f" ({probability:.3f})" if probability is not None else "") + f"\t{text}"
    if "tags" in result:
        entities = " ".join(f"[{e['type']} {e['text']}]" for e in result["entities"]) or "(no entities)"
        return " ".join(f"{t}/{tag}" for t, tag in zip(result["tokens"], result["tags"])) + f"\n  {entities}"
    for key in ("output", "text", "value"):
        if key in result:
            return f"{text}\t{result[key]}" if key != "text" else result[key]
    return json.dumps(result, ensure_ascii=False)


def predict(path, texts, signature="serving_default", as_json=False, out=None):
    """Prints the export's results for `texts`, one line (or JSON object) per text."""
    out = out or sys.stdout
    loaded, metadata = load_export(path)
    results = readable(metadata, call_signature(loaded, list(texts), signature))
    for text, result in zip(texts, results):
        print(json.dumps({"input": text, **result}, ensure_ascii=False) if as_json else line_of(metadata, text, result),
              file=out)
    return results


# === Evaluating an export on a labelled file ===


@dataclasses.dataclass
class TableOptions:
    """How `seqkit evaluate` reads a classifier's CSV/TSV file."""

    text_column: str = "text"
    label_column: str = "label"
    encoding: str = "utf-8"
    separator: str | None = None  # Guessed from the file name (.tsv: tab) when None.


@dataclasses.dataclass
class ConllOptions:
    """How `seqkit evaluate` reads a tagger's CoNLL file."""

    token_column: int = 0
    tag_column: int = -1
    scheme: str = "bio"  # The file's tag scheme: iob1, bio or bioes.
    encoding: str = "utf-8"


@dataclasses.dataclass
class TextOptions:
    """How `seqkit evaluate` reads a language model's text file (one text per line)."""

    encoding: str = "utf-8"


@dataclasses.dataclass
class PairsOptions:
    """How `seqkit evaluate` reads an encoder-decoder's TSV of pairs."""

    encoding: str = "utf-8"
    reverse: bool = False  # Read each line as target<TAB>source.


def evaluate_export(path, data_file, arguments=()):
    """Scores the export at `path` on `data_file`, read with `--key=value` `arguments`; returns a metrics dict."""
    from seqkit.config import parse_args

    loaded, metadata = load_export(path)
    kind = metadata.get("format")
    evaluators = {"seqkit.classifier": (_evaluate_classifier, TableOptions),
                  "seqkit.tagger": (_evaluate_tagger, ConllOptions),
                  "seqkit.language_model": (_evaluate_language_model, TextOptions),
                  "seqkit.seq2seq": (_evaluate_seq2seq, PairsOptions)}
    if kind not in evaluators:
        raise CommandError(f"{path}: cannot evaluate an export of format {kind!r} (seqkit.json). "
                           f"Expected one of: {', '.join(evaluators)}")
    evaluate, options_class = evaluators[kind]
    options = parse_args(options_class(), arguments)
    return {"export": str(path), "data": str(data_file), **evaluate(loaded, metadata, data_file, options)}


def _evaluate_classifier(loaded, metadata, data_file, options):
    from sklearn.metrics import classification_report, mean_absolute_error, mean_squared_error

    from seqkit.data.readers import read_table

    texts, labels = read_table(data_file, options.text_column, options.label_column, encoding=options.encoding,
                               separator=options.separator)
    results = readable(metadata, call_signature(loaded, texts))
    if metadata.get("head") == "regression":
        values = [r["value"] for r in results]
        gold = [float(label) for label in labels]
        return {"examples": len(texts), "mae": mean_absolute_error(gold, values),
                "rmse": math.sqrt(mean_squared_error(gold, values))}
    predicted = [r["label"] for r in results]
    gold = [str(label) for label in labels]
    if metadata.get("head") == "multilabel":
        sets = [(set(p.split("|")) - {""}, set(g.split("|")) - {""}) for p, g in zip(predicted, gold)]
        return {"examples": len(texts), "subset_accuracy": sum(p == g for p, g in sets) / len(sets)}
    unknown = sorted(set(gold) - set(metadata.get("label_names") or gold))
    if unknown:
        raise CommandError(f"{data_file}: labels the model does not know: {unknown[:10]}. "
                           f"The model's labels: {metadata.get('label_names')}")
    accuracy = sum(p == g for p, g in zip(predicted, gold)) / len(gold)
    report = classification_report(gold, predicted, output_dict=True, zero_division=0)
    return {"examples": len(texts), "accuracy": accuracy, "macro_f1": report["macro avg"]["f1-score"],
            "classification_report": report}


def _evaluate_tagger(loaded, metadata, data_file, options):
    import tensorflow as tf
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score

    from seqkit.data.conll import read_conll
    from seqkit.data.tag_schemes import convert

    sentences, tags = read_conll(data_file, token_column=options.token_column, tag_column=options.tag_column,
                                 encoding=options.encoding, scheme=options.scheme, target_scheme="bio")
    function = loaded.signatures["tag_tokens"]
    predicted = []
    for begin in range(0, len(sentences), BATCH_SIZE):
        batch = tf.ragged.constant(sentences[begin : begin + BATCH_SIZE], dtype=tf.string).to_tensor("")
        outputs = function(tokens=batch)
        for row, length in zip(outputs["tags"].numpy(), outputs["lengths"].numpy()):
            predicted.append([_text(tag) for tag in row[:length]])
    if any(tag[:2] in ("S-", "E-") for row in predicted for tag in row) or any(
            name[:2] in ("S-", "E-") for name in metadata.get("tag_names", [])):
        predicted = [convert(row, "bioes", "bio") for row in predicted]
    return {"sentences": len(sentences), "f1": f1_score(tags, predicted), "precision": precision_score(tags, predicted),
            "recall": recall_score(tags, predicted), "report": classification_report(tags, predicted, output_dict=True)}


def _evaluate_language_model(loaded, metadata, data_file, options):
    from seqkit.data.readers import read_lines

    texts = read_lines(data_file, encoding=options.encoding)
    outputs = call_signature(loaded, texts, "score")
    nats = -float(outputs["log_prob"].sum())
    tokens = int(outputs["num_tokens"].sum())
    if not tokens:
        raise CommandError(f"{data_file}: no token of the model's vocabulary to score.")
    unit = "char" if metadata.get("level") == "char" else "token"
    return {"texts": len(texts), f"{unit}s": tokens, f"nats_per_{unit}": nats / tokens,
            f"bits_per_{unit}": nats / tokens / math.log(2), "perplexity": math.exp(nats / tokens)}


def _evaluate_seq2seq(loaded, metadata, data_file, options):
    import sacrebleu

    from seqkit.data.readers import read_pairs

    sources, references = read_pairs(data_file, encoding=options.encoding, reverse=options.reverse)
    outputs = [r["output"] for r in readable(metadata, call_signature(loaded, sources))]
    tokenize = "char" if metadata.get("target_level") == "char" else "13a"
    return {"pairs": len(sources),
            "bleu": sacrebleu.corpus_bleu(outputs, [references], tokenize=tokenize).score,
            "chrf": sacrebleu.corpus_chrf(outputs, [references]).score,
            "exact_match": sum(o == r for o, r in zip(outputs, references)) / len(sources)}


# === Datasets ===


def datasets_command(arguments, out=None):
    from seqkit.data import datasets

    out = out or sys.stdout
    if arguments[:1] == ["list"] and len(arguments) == 1:
        for name in datasets.list_datasets():
            info = datasets.info(name)
            print(f"{name:16} {info.task:18} {info.title}", file=out)
        return 0
    if arguments[:1] == ["info"] and len(arguments) == 2:
        try:
            info = datasets.info(arguments[1])
        except (KeyError, ValueError) as error:
            raise CommandError(str(error).strip("'\"")) from None
        fields = {"name": info.name, "title": info.title, "task": info.task, "splits": info.splits, "size": info.size,
                  "license": info.license, "citation": info.citation, "homepage": info.homepage,
                  "files": sorted(info.checksums)}
        try:
            fields["found_at"] = str(datasets.locate(info.name, download=False))
        except ValueError:
            fields["found_at"] = None  # Not on this machine: the first use downloads it.
        print(json.dumps(fields, indent=2, ensure_ascii=False), file=out)
        return 0
    raise CommandError("Expected `seqkit datasets list` or `seqkit datasets info NAME`. "
                       f"Received: seqkit datasets {' '.join(arguments)}")


# === The command line ===


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    command, arguments = argv[0], argv[1:]
    try:
        if command in ("train", "export", "evaluate") and arguments and arguments[0] in RECIPES:
            extra = {"train": (), "export": ("--export",), "evaluate": ("--no-export",)}[command]
            return run_recipe(arguments[0], arguments[1:], extra)
        if command == "evaluate" and len(arguments) >= 2:
            metrics = evaluate_export(arguments[0], arguments[1], arguments[2:])
            print(json.dumps(metrics, indent=2, ensure_ascii=False, default=float))
            return 0
        if command == "predict" and arguments:
            flags = [a for a in arguments[1:] if a in ("--json",) or a.startswith("--signature=")]
            texts = [a for a in arguments[1:] if a not in flags]
            if not texts:
                raise CommandError(f"`seqkit predict {arguments[0]}` needs at least one text to predict on, after "
                                   "the export folder: seqkit predict EXPORT TEXT [TEXT ...]")
            signature = next((f.split("=", 1)[1] for f in flags if f.startswith("--signature=")), "serving_default")
            predict(arguments[0], texts, signature=signature, as_json="--json" in flags)
            return 0
        if command == "datasets":
            return datasets_command(arguments)
        if command in ("train", "export", "evaluate") and arguments:
            raise CommandError(f"Unknown recipe {arguments[0]!r}. Expected one of: {', '.join(RECIPES)}, "
                               "or for evaluate, an export folder and a data file.")
        raise CommandError(f"Cannot read the command `seqkit {' '.join(argv)}`. See `seqkit --help`.")
    except ValueError as error:  # CommandError, ConfigError and DataError are ValueErrors.
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
