"""Decoding strategies for autoregressive models, on keras-hub's samplers.

`get_sampler` names the strategies (greedy, temperature/random, top-k, top-p,
beam) and checks their settings; `generate_ids` runs one with a recurrent
language model, whose states are the sampler's cache: each new token costs one
recurrent step, never a re-read of the prefix.
"""

from keras import ops

STRATEGIES = ("greedy", "random", "top_k", "top_p", "beam")


def check_temperature(temperature):
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or temperature <= 0:
        raise ValueError(
            "`temperature` must be a number > 0 (1 samples the model's distribution; smaller is more "
            f"conservative). Received: temperature={temperature!r}"
        )


def get_sampler(strategy="random", top_k=10, top_p=0.9, num_beams=4, seed=None):
    """A `keras_hub.samplers.Sampler` for a strategy name.

    Temperature is not a sampler setting here: `generate_ids` divides the logits
    by it, so it can also be a tensor (an exported model's parameter).

    Args:
        strategy: `"greedy"`, `"random"` (plain sampling), `"top_k"`, `"top_p"` or `"beam"`.
        top_k: candidates kept by `"top_k"`.
        top_p: probability mass kept by `"top_p"`, in (0, 1].
        num_beams: beams of `"beam"`.
        seed: seed of the random strategies.

    Examples:
    >>> type(get_sampler("top_p", top_p=0.95)).__name__
    'TopPSampler'
    """
    import keras_hub

    if strategy not in STRATEGIES:
        raise ValueError(f"`strategy` must be one of {STRATEGIES}. Received: strategy={strategy!r}")
    if strategy == "top_k" and (not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"`top_k` must be an int >= 1. Received: top_k={top_k!r}")
    if strategy == "top_p" and (not isinstance(top_p, (int, float)) or not 0.0 < top_p <= 1.0):
        raise ValueError(f"`top_p` must be in (0, 1]. Received: top_p={top_p!r}")
    if strategy == "beam" and (not isinstance(num_beams, int) or num_beams < 1):
        raise ValueError(f"`num_beams` must be an int >= 1. Received: num_beams={num_beams!r}")
    samplers = keras_hub.samplers
    if strategy == "greedy":
        return samplers.GreedySampler()
    if strategy == "random":
        return samplers.RandomSampler(seed=seed)
    if strategy == "top_k":
        return samplers.TopKSampler(k=top_k, seed=seed)
    if strategy == "top_p":
        return samplers.TopPSampler(p=float(top_p), seed=seed)
    return samplers.BeamSampler(num_beams=num_beams)


def seed_sampler(sampler, seed):
    """Restarts a random sampler's generator from `seed` (an int or an int tensor)."""
    for generator_state in sampler.variables:
        seed = ops.cast(seed, generator_state.dtype)
        generator_state.assign(ops.stack([seed, ops.zeros_like(seed)]))


def generate_ids(
    model,
    prompt_ids,
    max_length,
    sampler,
    temperature=1.0,
    stop_token_id=None,
    forbidden_ids=(0, 1, 2),
    stop_positions=None,
):
    """Continues prompts with a language model from `seqkit.models.build_language_model`.

    Args:
        model: the language model.
        prompt_ids: `(batch, max_length)` ids: `<bos>`, the prompt's tokens, then
            `<pad>` (0) up to `max_length`. Prompts may differ in length.
        max_length: the width of `prompt_ids`, for clarity (checked; None in graphs).
        sampler: from `get_sampler`.
        temperature: divides the logits; a float or a scalar tensor.
        stop_token_id: stop a row at this id (e.g. `<eos>`); generation ends when
            every row has produced it.
        forbidden_ids: ids never generated. By default `<pad>`, `<unk>` and
            `<bos>`: giving them zero probability is exactly "when one is drawn,
            draw again", so generated text never contains `<unk>`.
        stop_positions: optional `(batch,)` positions at which each row is given
            `stop_token_id`: a per-row length budget. A batch then ends as soon as
            every row has used its budget, however wide `prompt_ids` is (an export
            compiled by XLA pads the width to a few sizes and relies on this).

    Returns:
        `(batch, max_length)` ids: the prompts, continued. Tokens after a row's
        stop token are meaningless; cut there.
    """
    from seqkit.models.language_model import initial_states, next_token_logits

    prompt_ids = ops.convert_to_tensor(prompt_ids, "int32")
    if max_length is not None and prompt_ids.shape[-1] is not None and prompt_ids.shape[-1] != max_length:
        raise ValueError(
            f"`prompt_ids` must be padded to `max_length`. Received: width {prompt_ids.shape[-1]}, "
            f"max_length={max_length}"
        )
    # A prompt token (never overwritten) is any non-pad position; `<bos>` is at 0.
    mask = ops.not_equal(prompt_ids, 0)
    vocabulary_size = model.get_layer("logits").units
    banned = ops.zeros((vocabulary_size,), "float32")
    if forbidden_ids:
        banned = ops.scatter_update(
            banned, [[int(i)] for i in forbidden_ids], ops.full((len(forbidden_ids),), -1e9, "float32")
        )
    temperature = ops.cast(temperature, "float32")
    if stop_positions is not None:
        if stop_token_id is None:
            raise ValueError("`stop_positions` ends rows with `stop_token_id`, which is None.")
        stop_positions = ops.cast(ops.convert_to_tensor(stop_positions), "int32")
        only_stop = ops.where(ops.equal(ops.arange(vocabulary_size), stop_token_id), 0.0, -1e9)

    def next(prompt, cache, index):
        # `prompt[:, index - 1]` was just fixed; the cache holds the states before it.
        logits, states = next_token_logits(model, prompt[:, index - 1], list(cache))
        logits = ops.cast(logits, "float32") / temperature + banned
        if stop_positions is not None:
            logits = ops.where((index >= stop_positions)[:, None], only_stop[None, :], logits)
        return logits, None, tuple(states)

    batch_size = ops.shape(prompt_ids)[0]
    cache = tuple(initial_states(model, batch_size))
    return sampler(next, prompt_ids, cache=cache, index=1, mask=mask, stop_token_ids=(
        None if stop_token_id is None else [stop_token_id]
    ), model=model)
