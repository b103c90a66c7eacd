"""Language models: one-step decoding, scoring, samplers, windows and stateful training."""

import math

import keras
import numpy as np
import pytest

from seqkit import decoding
from seqkit.data import DataError, Vocabulary
from seqkit.data import text_windows
from seqkit.layers import RecurrentStack
from seqkit.models import language_model as lm
from seqkit.training import ResetStates


def tiny_model(vocabulary_size=12, cell="lstm", num_layers=2, seed=0):
    keras.utils.set_random_seed(seed)
    return lm.build_language_model(vocabulary_size, embedding_dim=6, cell=cell, units=8, num_layers=num_layers)


VOCABULARY = Vocabulary.build([list("abcdefgh")])  # 4 specials + 8 characters = 12 ids.


# === The recurrent stack, one step at a time ===


@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
def test_steps_reproduce_the_whole_sequence(cell):
    stack = RecurrentStack(cell, units=[5, 7])
    sequence = np.random.default_rng(1).normal(size=(3, 6, 4)).astype("float32")
    full = keras.ops.convert_to_numpy(stack(sequence))
    states = stack.initial_states(3)
    assert [tuple(state.shape) for state in states] == ([(3, 5), (3, 5), (3, 7), (3, 7)] if cell == "lstm" else [(3, 5), (3, 7)])
    for t in range(6):
        output, states = stack.step(sequence[:, t], states)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(output), full[:, t], atol=1e-5)


def test_stepping_needs_a_unidirectional_stack():
    with pytest.raises(ValueError, match="unidirectional"):
        RecurrentStack("gru", units=4, bidirectional=True).initial_states(2)
    with pytest.raises(ValueError, match="stateful=True, bidirectional=True"):
        RecurrentStack("gru", units=4, bidirectional=True, stateful=True)
    with pytest.raises(ValueError, match="Expected 4 state tensors"):
        RecurrentStack("lstm", units=4, num_layers=2).step(np.zeros((1, 3), "float32"), [np.zeros((1, 4))])


# === The model and its scores ===


def test_builder_shapes_and_validation():
    model = tiny_model()
    assert tuple(model(np.ones((2, 5), "int32")).shape) == (2, 5, 12)
    assert [layer.name for layer in model.layers[1:]] == ["token_embedding", "recurrent_stack", "output_dropout", "logits"]
    with pytest.raises(ValueError, match="fixed `batch_size` and `sequence_length`"):
        lm.build_language_model(12, stateful=True)
    with pytest.raises(ValueError, match="at least one more"):
        lm.build_language_model(4)
    with pytest.raises(ValueError, match="Expected a model from `build_language_model`"):
        lm.initial_states(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]), 1)


def test_token_log_probs_are_the_log_softmax_of_the_shifted_inputs():
    model = tiny_model()
    ids = np.array([[5, 6, 7, 8], [9, 4, 0, 0]], dtype="int32")
    lengths = np.array([4, 2])
    got = keras.ops.convert_to_numpy(lm.token_log_probs(model, ids, lengths))
    inputs = np.concatenate([np.full((2, 1), 2), ids[:, :-1]], axis=1)
    logits = keras.ops.convert_to_numpy(model(inputs))
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = np.take_along_axis(log_probs, ids[:, :, None], axis=-1)[..., 0]
    expected[1, 2:] = 0.0
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # A right-padded row scores exactly as the unpadded one.
    alone = keras.ops.convert_to_numpy(lm.token_log_probs(model, ids[1:, :2], lengths[1:]))
    np.testing.assert_allclose(alone[0], got[1, :2], atol=1e-5)


def test_score_sums_token_log_probs_and_reports_unknown_tokens():
    model = tiny_model()
    results = lm.score(model, VOCABULARY, ["abc", "axb", ""], level="char")
    ids = np.array([VOCABULARY.encode(list("abc"))], dtype="int32")
    total = float(keras.ops.sum(lm.token_log_probs(model, ids, np.array([3]))))
    assert results[0]["num_tokens"] == 3 and results[0]["unknown"] == []
    assert math.isclose(results[0]["log_prob"], total, abs_tol=1e-5)
    assert math.isclose(results[0]["perplexity"], math.exp(-total / 3), rel_tol=1e-6)
    assert results[1]["unknown"] == ["x"]
    assert results[2]["num_tokens"] == 0 and results[2]["log_prob"] == 0.0
    with pytest.raises(ValueError, match="list of strings"):
        lm.score(model, VOCABULARY, "abc")


# === Generation ===


def manual_greedy(model, prompt_ids, steps, banned):
    states, token = lm.initial_states(model, 1), None
    for token in prompt_ids:
        logits, states = lm.next_token_logits(model, np.array([token], "int32"), states)
    generated = []
    for _ in range(steps):
        scores = keras.ops.convert_to_numpy(logits)[0]
        scores[list(banned)] = -np.inf
        token = int(np.argmax(scores))
        generated.append(token)
        logits, states = lm.next_token_logits(model, np.array([token], "int32"), states)
    return generated


def test_greedy_generation_is_the_argmax_chain_over_recurrent_states():
    model = tiny_model()
    text = lm.generate(model, VOCABULARY, ["bad"], max_new_tokens=6, strategy="greedy")[0]
    expected = manual_greedy(model, [2] + VOCABULARY.encode(list("bad")), 6, banned=(0, 1, 2, 3))
    assert text == "bad" + "".join(VOCABULARY.decode(expected))


def test_prompts_of_any_length_empty_or_unknown_in_one_batch():
    model = tiny_model()
    texts = lm.generate(model, VOCABULARY, ["", "ab", "zz\u00e9"], max_new_tokens=5, strategy="greedy")
    assert [len(text) for text in texts] == [5, 7, 8]
    assert texts[1] == lm.generate(model, VOCABULARY, ["ab"], max_new_tokens=5, strategy="greedy")[0]
    assert texts[2].startswith("zz\u00e9")
    assert lm.generate(model, VOCABULARY, [], max_new_tokens=5) == []


def test_unknown_is_redrawn_and_eos_stops_word_generation():
    vocabulary = Vocabulary.build([["the", "cat", "sat"]])
    model = lm.build_language_model(vocabulary.size, embedding_dim=4, units=4, num_layers=1)
    projection = model.get_layer("logits")
    bias = np.zeros(vocabulary.size, "float32")
    bias[vocabulary.unk_id] = 50.0  # <unk> is by far the likeliest token...
    projection.bias.assign(bias)
    texts = lm.generate(model, vocabulary, ["the"] * 4, level="word", max_new_tokens=30, seed=0, stop_at_eos=False)
    words = " ".join(texts).split()
    assert "<unk>" not in words and len(words) > 4  # ...but is never produced.
    assert lm.generate(model, vocabulary, ["the"], level="word", max_new_tokens=2, allow_unknown=True) == [
        "the <unk> <unk>"
    ]
    bias[vocabulary.unk_id], bias[vocabulary.eos_id] = 0.0, 50.0
    projection.bias.assign(bias)
    assert lm.generate(model, vocabulary, ["the cat"], level="word", max_new_tokens=6) == ["the cat"]
    with_unknown = lm.generate(
        model, vocabulary, ["the"], level="word", max_new_tokens=3, stop_at_eos=False, strategy="greedy"
    )
    assert with_unknown == ["the\n\n\n"]


def test_stop_positions_end_each_row_on_its_budget_and_the_loop_with_the_last():
    model = tiny_model()
    sampler = decoding.get_sampler("greedy")
    prompt = np.zeros((3, 20), "int32")
    prompt[:, 0] = VOCABULARY.bos_id
    prompt[0, 1:3] = [5, 6]  # Row 0: <bos> + 2 prompt tokens.
    eos = VOCABULARY.eos_id
    ends = [3 + 4, 1 + 2, 1 + 6]  # Each row's first position past its budget.
    plain = keras.ops.convert_to_numpy(decoding.generate_ids(model, prompt, 20, sampler, stop_token_id=eos))
    output = keras.ops.convert_to_numpy(
        decoding.generate_ids(model, prompt, 20, sampler, stop_token_id=eos, stop_positions=ends)
    )
    for row, end in enumerate(ends):
        np.testing.assert_array_equal(output[row, :end], plain[row, :end])  # The same tokens, up to the budget...
        assert output[row, end] == eos  # ...then <eos>, which greedy would not pick here.
        assert plain[row, end] != eos
    # Every row had its <eos> by position 7: the loop stopped there, leaving the rest as padding.
    assert (output[:, max(ends) + 1 :] == 0).all() and (plain[:, max(ends) + 1 :] != 0).all()
    with pytest.raises(ValueError, match="stop_token_id"):
        decoding.generate_ids(model, prompt, 20, sampler, stop_positions=ends)


@pytest.mark.parametrize("strategy", decoding.STRATEGIES)
def test_every_strategy_generates_the_requested_length(strategy):
    texts = lm.generate(tiny_model(), VOCABULARY, ["ab", "c"], max_new_tokens=4, strategy=strategy, seed=1, top_k=3)
    assert [len(text) for text in texts] == [6, 5]
    assert all(set(text) <= set("abcdefgh") for text in texts)


def test_sampling_is_reproducible_by_seed():
    model = tiny_model()
    first = lm.generate(model, VOCABULARY, ["a"] * 6, max_new_tokens=12, seed=7)
    assert first == lm.generate(model, VOCABULARY, ["a"] * 6, max_new_tokens=12, seed=7)
    assert first != lm.generate(model, VOCABULARY, ["a"] * 6, max_new_tokens=12, seed=8)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"temperature": 0}, "temperature"),
        ({"temperature": -1.0}, "temperature"),
        ({"strategy": "top_p", "top_p": 0.0}, "top_p"),
        ({"strategy": "top_p", "top_p": 1.5}, "top_p"),
        ({"strategy": "top_k", "top_k": 0}, "top_k"),
        ({"strategy": "nucleus"}, "strategy"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
    ],
)
def test_bad_generation_settings_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        lm.generate(tiny_model(), VOCABULARY, ["a"], **kwargs)


# === Text streams and windows ===


def test_token_streams_and_detokenizing():
    assert text_windows.text_to_tokens("Ab\n", "char") == ["A", "b", "\n"]
    assert text_windows.text_to_tokens("The cat.\n\nA dog", "word") == ["the", "cat", ".", "<eos>", "a", "dog", "<eos>"]
    assert text_windows.detokenize(["a", "b", "<eos>", "c"], "word") == "a b\nc"
    ids, lengths = text_windows.encode_prompts(["ab", ""], "char", VOCABULARY, max_new_tokens=3)
    assert ids.tolist() == [[2] + VOCABULARY.encode(["a", "b"]) + [0, 0, 0], [2, 0, 0, 0, 0, 0]]
    assert lengths.tolist() == [3, 1]
    with pytest.raises(ValueError, match="`level`"):
        text_windows.lm_tokenizer("byte")


def test_windows_start_with_bos_and_cover_the_stream():
    ids = np.arange(10, 110, dtype="int32")
    batches = list(text_windows.window_dataset(ids, 8, batch_size=4, shuffle=True, seed=3))
    inputs = np.concatenate([b[0].numpy() for b in batches])
    targets = np.concatenate([b[1].numpy() for b in batches])
    assert inputs.shape == targets.shape == (text_windows.num_windows(100, 8), 8)
    assert (inputs[:, 0] == 2).all() and (inputs[:, 1:] == targets[:, :-1]).all()
    assert (np.diff(targets, axis=1) == 1).all()  # Each window is contiguous text.
    starts = sorted(targets[:, 0] - 10)
    assert all(0 <= start <= 100 - 8 for start in starts)
    assert len({start // 8 for start in starts}) == len(starts)  # One window per grid cell.


def test_training_windows_move_every_epoch():
    ids = np.arange(10, 1010, dtype="int32")
    dataset = text_windows.window_dataset(ids, 16, batch_size=8, shuffle=True, seed=0)
    epochs = [sorted(np.concatenate([targets.numpy()[:, 0] for _, targets in dataset])) for _ in range(3)]
    offsets = [{start % 16 for start in starts} for starts in epochs]
    assert all(len(seen) > 8 for seen in offsets)  # Anywhere in a cell, not a fixed grid.
    assert epochs[0] != epochs[1] != epochs[2]  # New boundaries every epoch.


def test_stateful_windows_continue_row_by_row():
    ids = np.arange(1000, dtype="int32")
    batches = [(x.numpy(), y.numpy()) for x, y in text_windows.stateful_window_dataset(ids, 10, batch_size=4)]
    for (x, y), (next_x, _) in zip(batches, batches[1:]):
        assert (next_x[:, 0] == x[:, -1] + 1).all()
        assert (y == x + 1).all()
    assert all(x.shape == (4, 10) for x, _ in batches)


def test_a_text_too_short_for_one_window_is_a_clear_error():
    with pytest.raises(DataError, match=r"too short for one window: it has 5 tokens.*needs sequence_length \+ 1 = 9"):
        text_windows.window_dataset(np.arange(5), 8, batch_size=2)
    with pytest.raises(DataError, match="too short for stateful training"):
        text_windows.stateful_window_dataset(np.arange(30), 10, batch_size=4)


# === Training ===


def test_a_stateful_model_carries_state_between_batches_and_trains():
    keras.utils.set_random_seed(0)
    model = lm.build_language_model(12, embedding_dim=4, units=6, num_layers=2, stateful=True, batch_size=2,
                                    sequence_length=5)
    x = np.random.default_rng(0).integers(4, 12, (2, 5)).astype("int32")
    first = keras.ops.convert_to_numpy(model(x))
    second = keras.ops.convert_to_numpy(model(x))
    assert not np.allclose(first, second)  # The state from the first call changed the second.
    model.get_layer("recurrent_stack").reset_states()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x)), first, atol=1e-6)
    lm.compile_language_model(model, learning_rate=0.01)
    ids = np.tile(np.arange(4, 12, dtype="int32"), 40)
    data = text_windows.stateful_window_dataset(ids, 5, batch_size=2)
    history = model.fit(data, epochs=4, verbose=0, callbacks=[ResetStates()])
    assert history.history["loss"][-1] < history.history["loss"][0] - 0.5


def test_loss_report_units():
    report = lm.loss_report(1.2, num_tokens=100, num_characters=400)
    assert report["bits_per_token"] == round(1.2 / math.log(2), 4)
    assert report["perplexity"] == round(math.exp(1.2), 4)
    assert report["nats_per_character"] == 0.3


# === Corpora larger than memory ===


def test_streamed_windows_are_the_stream_cut_in_order_across_chunk_boundaries(tmp_path):
    text = "".join(f"line {i}: to be, or not to be\n" for i in range(40))
    path = tmp_path / "corpus.txt"
    path.write_text(text)
    vocabulary = text_windows.build_lm_vocabulary(text_windows.text_to_tokens(text, "char"))
    ids = np.asarray(vocabulary.encode(text_windows.text_to_tokens(text, "char")))
    # 50-byte chunks: every window but the first crosses a chunk boundary somewhere.
    region = text_windows.TextFileRegion(path, chunk_bytes=50)
    batches = list(text_windows.stream_window_dataset(region, vocabulary, "char", 16, batch_size=8, shuffle=False))
    inputs = np.concatenate([batch[0].numpy() for batch in batches])
    targets = np.concatenate([batch[1].numpy() for batch in batches])
    assert targets.shape == (len(ids) // 16, 16)
    np.testing.assert_array_equal(targets.reshape(-1), ids[: targets.size])
    np.testing.assert_array_equal(inputs[:, 0], 2)  # <bos>
    np.testing.assert_array_equal(inputs[:, 1:], targets[:, :-1])
    # Shuffled: the same windows, in another order.
    shuffled = text_windows.stream_window_dataset(region, vocabulary, "char", 16, batch_size=8, seed=1)
    shuffled = np.concatenate([batch[1].numpy() for batch in shuffled])
    assert not np.array_equal(shuffled, targets)
    assert sorted(map(tuple, shuffled)) == sorted(map(tuple, targets))


def test_streamed_regions_split_at_a_line_end_and_bad_files_name_the_place(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("first line\nsecond line\nthird\n")
    train, val = text_windows.TextFileRegion.split(path, 0.5)
    assert "".join(train.text_chunks()) + "".join(val.text_chunks()) == path.read_text()
    assert "".join(train.text_chunks()).endswith("\n")
    vocabulary = text_windows.build_lm_vocabulary(text_windows.text_to_tokens(path.read_text(), "char"))
    with pytest.raises(DataError, match=r"validation part of .*corpus.txt .* too short for one window of 64"):
        text_windows.stream_window_dataset(val, vocabulary, "char", 64, batch_size=2, name="validation")
    (tmp_path / "latin1.txt").write_bytes("naïve text\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin1.txt: not valid utf-8 near byte 2"):
        list(text_windows.TextFileRegion(tmp_path / "latin1.txt").text_chunks())
