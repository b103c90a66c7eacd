"""A word LM trained on real English prefers the sentence that makes sense (pear vs pair)."""

import time

import keras
import numpy as np
import pytest

import seqkit
from seqkit.data import text_windows
from seqkit.models import language_model as lm


def english_sentences(data_dir):
    lines = seqkit.data.readers.read_lines(seqkit.datasets.files("spa-eng", data_dir=data_dir)["spa.txt"])
    return list(dict.fromkeys(line.split("\t")[0] for line in lines))


@pytest.mark.slow  # Trains on ~1.8M words: about 8 minutes on 2 cores.
def test_word_lm_scores_pear_salad_above_pair_salad(shared_data):
    sentences = english_sentences(shared_data)
    tokens = text_windows.text_to_tokens("\n".join(sentences), "word")
    vocabulary = text_windows.build_lm_vocabulary(tokens, min_freq=2)
    assert {"apple", "pear", "pair", "salad"} <= set(vocabulary.tokens)
    ids = np.asarray(vocabulary.encode(tokens), dtype="int32")
    keras.utils.set_random_seed(0)
    model = lm.build_language_model(vocabulary.size, embedding_dim=64, units=256, num_layers=1, output_dropout=0.1)
    lm.compile_language_model(model, learning_rate=3e-3)
    start = time.time()
    # Many small updates: the sentences are short, and context (not word frequency) must be learned.
    model.fit(text_windows.window_dataset(ids, 24, batch_size=32, seed=0), epochs=2, verbose=0)
    print(f"trained on {2 * len(ids):,} tokens in {time.time() - start:.0f} s")
    pear, pair = lm.score(model, vocabulary, ["the apple and pear salad", "the apple and pair salad"], level="word")
    print(pear, pair)
    assert pear["unknown"] == pair["unknown"] == []
    assert pear["log_prob"] > pair["log_prob"] + 1.0
    assert pear["perplexity"] < pair["perplexity"]
