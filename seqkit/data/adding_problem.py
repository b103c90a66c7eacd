"""The adding problem (Hochreiter & Schmidhuber 1997): a long-memory benchmark generated in code."""

import numpy as np

# The mean squared error of always predicting 1, the expected sum: the variance of
# the sum of two U(0, 1) numbers, 2 / 12.
BASELINE_MSE = 1.0 / 6.0


def adding_problem(num_sequences, length, rng=None):
    """Sequences of `(value, marker)` pairs whose target is the sum of the two marked values.

    Values are drawn from U(0, 1). One marker falls in the first half of the
    sequence and one in the second half (the layout of Le et al. 2015 and
    Arjovsky et al. 2016), so a model must carry a value across about
    `length / 2` steps. Predicting 1 every time scores `BASELINE_MSE` (1/6).

    Args:
        num_sequences: the batch size.
        length: time steps per sequence, at least 2.
        rng: a `numpy.random.Generator` (default: a fresh unseeded one).

    Returns:
        `(inputs, targets)`: float32 arrays of shapes `(num_sequences, length, 2)`
        and `(num_sequences, 1)`.

    Examples:
    >>> inputs, targets = adding_problem(3, 10, np.random.default_rng(0))
    >>> inputs.shape, targets.shape, inputs[..., 1].sum(axis=1).tolist()
    ((3, 10, 2), (3, 1), [2.0, 2.0, 2.0])
    >>> bool(np.allclose(targets[:, 0], (inputs[..., 0] * inputs[..., 1]).sum(axis=1)))
    True
    """
    if not isinstance(length, (int, np.integer)) or length < 2:
        raise ValueError(f"`length` must be an int >= 2. Received: length={length!r}")
    if not isinstance(num_sequences, (int, np.integer)) or num_sequences < 1:
        raise ValueError(f"`num_sequences` must be a positive int. Received: num_sequences={num_sequences!r}")
    rng = rng if rng is not None else np.random.default_rng()
    values = rng.uniform(size=(num_sequences, length))
    half = length // 2
    first = rng.integers(0, half, size=num_sequences)
    second = rng.integers(half, length, size=num_sequences)
    markers = np.zeros((num_sequences, length))
    rows = np.arange(num_sequences)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    inputs = np.stack([values, markers], axis=-1).astype("float32")
    targets = (values[rows, first] + values[rows, second])[:, None].astype("float32")
    return inputs, targets
