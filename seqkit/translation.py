"""Strings in, strings out with a trained encoder-decoder: batched decoding for recipes and evaluation.

This module is TensorFlow-specific (the source strings are tokenized with
`tf.strings`, and decoding runs compiled with `tf.function`); the decoding loops
themselves (`seqkit.models.seq2seq`) use `keras.ops` only. `export_seq2seq`
joins output tokens with the same rules, inside the exported graph.
"""

import re

import tensorflow as tf

from seqkit.models import seq2seq

# Word-level output is joined by spaces, then these spaces are removed (as in "Hola , amigo ." -> "Hola, amigo.").
NO_SPACE_BEFORE = r" ([.,!?;:)%»])"
NO_SPACE_AFTER = r"([¿¡(«]) "


def detokenize(tokens, level="word"):
    """Joins output tokens into text: `"char"` as they are, `"word"` by spaces, tidied around punctuation.

    Examples:
    >>> detokenize(["¿", "Dónde", "está", "?"])
    '¿Dónde está?'
    """
    if level == "char":
        return "".join(tokens)
    text = " ".join(tokens)
    return re.sub(NO_SPACE_AFTER, r"\1", re.sub(NO_SPACE_BEFORE, r"\1", text))


def translate(
    model,
    source_preprocessor,
    target_vocabulary,
    texts,
    level="word",
    num_beams=4,
    length_penalty=0.6,
    max_length=64,
    batch_size=256,
):
    """Decodes every text: `(outputs, attentions, output_tokens)`.

    Args:
        model: from `build_seq2seq`.
        source_preprocessor: the source `TextPreprocessor`.
        target_vocabulary: the target `Vocabulary`.
        texts: source strings.
        level: how output tokens are joined (`detokenize`).
        num_beams, length_penalty: beam search (`num_beams=1`: greedy).
        max_length: the most output tokens, `<eos>` included.
        batch_size: sources decoded at once.

    Returns:
        The output strings; per text, the `(output tokens + 1, source tokens)`
        attention weights (through `<eos>`); and per text the output tokens. A
        text with no tokens gives an empty output.
    """
    bos_id, eos_id = target_vocabulary.bos_id, target_vocabulary.eos_id
    decode = _decoder(model, max_length, num_beams, length_penalty, bos_id, eos_id)
    outputs, attentions, all_tokens = [], [], []
    texts = list(texts)
    for begin in range(0, len(texts), batch_size):
        chunk = texts[begin : begin + batch_size]
        ragged_ids = source_preprocessor.ragged_ids(tf.constant(chunk))
        source_ids, lengths = ragged_ids.to_tensor(), ragged_ids.row_lengths().numpy()
        empty = source_preprocessor.tokenizer.tokenize_tensor(tf.constant(chunk)).row_lengths().numpy() == 0
        tokens, attention = decode(source_ids)
        for row, weights, length, no_tokens in zip(tokens.numpy(), attention.numpy(), lengths, empty):
            ids = [eos_id] if no_tokens else [int(i) for i in row]  # No tokens in, nothing out (as exported).
            end = ids.index(eos_id) if eos_id in ids else len(ids)
            words = target_vocabulary.decode(ids[:end], skip_special=True)
            outputs.append(detokenize(words, level))
            attentions.append(weights[: end + 1, :length])
            all_tokens.append(words)
    return outputs, attentions, all_tokens


def _decoder(model, max_length, num_beams, length_penalty, bos_id, eos_id):
    """The compiled decoding function for these settings, traced once per model (a new `tf.function`
    at every `translate` call would trace and compile the whole loop again each time)."""
    decoders = model.__dict__.setdefault("_seqkit_decoders", {})
    key = (int(max_length), int(num_beams), float(length_penalty), int(bos_id), int(eos_id))
    if key not in decoders:

        @tf.function(reduce_retracing=True)
        def decode(source_ids):
            if num_beams == 1:
                return seq2seq.greedy_decode(model, source_ids, max_length, bos_id, eos_id)
            tokens, attention, _ = seq2seq.beam_decode(
                model, source_ids, max_length, num_beams=num_beams, length_penalty=length_penalty, bos_id=bos_id,
                eos_id=eos_id,
            )
            return tokens, attention

        decoders[key] = decode
    return decoders[key]
