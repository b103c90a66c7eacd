"""A linear-chain conditional random field (CRF) for sequence tagging, in `keras.ops` only.

Written here because no maintained Keras 3 library has one: tensorflow-addons'
`CRF` is TF/Keras-2 only and unmaintained, and keras-hub#2122 (a Keras 3 CRF) is
still open. This one runs on every Keras backend.

The score of a tag path `y` for emissions `e` (`(batch, time, num_tags)`) is

    start[y_1] + sum_t e[t, y_t] + sum_t transitions[y_{t-1}, y_t] + end[y_T]

summed over unmasked steps only. Training minimises `log Z - score(gold)` (the
forward algorithm, in log space); prediction is the Viterbi path. Masks may be
any pattern: masked steps are skipped, so the transition links the unmasked
steps on either side of them.
"""

import threading
import weakref

import keras
import numpy as np
from keras import ops

# The CRF layers created last in this thread, by name (weak references). A saved tagger's compile
# config holds its `CRFLoss`, which needs the transition scores of its model's CRF layer; Keras
# rebuilds a model's layers before its compile config, so a loaded `CRFLoss` binds to the CRF layer
# of its name created last here: the loaded model's own. Keras has no hook that hands a loss its
# model, hence this.
_recent_layers = threading.local()


def _recent_crf_layers():
    if not hasattr(_recent_layers, "by_name"):
        _recent_layers.by_name = {}
    return _recent_layers.by_name

from seqkit.utils import wide_dtype

# Added to the score of a forbidden transition. Finite, so that a sequence that
# breaks a constraint gets a large loss instead of NaN.
FORBIDDEN = -10000.0


def bio_constraints(tag_names, scheme="bio"):
    """Allowed transitions for BIO or BIOES tags, as `(transitions, start, end)` boolean arrays.

    BIO: `I-X` may only follow `B-X` or `I-X`, and may not start a sentence.
    BIOES: also `B-X`/`I-X` must be followed by `I-X`/`E-X`, and may not end one.

    Examples:
    >>> allowed, start, end = bio_constraints(["O", "B-PER", "I-PER"])
    >>> allowed.astype(int).tolist(), start.astype(int).tolist()
    ([[1, 1, 0], [1, 1, 1], [1, 1, 1]], [1, 1, 0])
    """
    if scheme not in ("bio", "bioes"):
        raise ValueError(f"`scheme` must be 'bio' or 'bioes'. Received: scheme={scheme!r}")
    parsed = []
    for tag in tag_names:
        if tag == "O":
            parsed.append(("O", None))
            continue
        prefix, _, entity = tag.partition("-")
        if prefix not in ("B", "I", "E", "S") or not entity or (scheme == "bio" and prefix in "ES"):
            raise ValueError(
                f"Tag {tag!r} is not a valid {scheme.upper()} tag (expected 'O' or a "
                f"{'B-/I-' if scheme == 'bio' else 'B-/I-/E-/S-'} prefix and a type)."
            )
        parsed.append((prefix, entity))

    def may_follow(previous, current):
        (p_prefix, p_type), (c_prefix, c_type) = previous, current
        continues = c_prefix in ("I", "E")
        if scheme == "bio":
            return not continues or (p_prefix in ("B", "I") and p_type == c_type)
        if p_prefix in ("B", "I"):
            return continues and p_type == c_type
        return not continues

    size = len(parsed)
    allowed = np.array([[may_follow(parsed[i], parsed[j]) for j in range(size)] for i in range(size)])
    start = np.array([prefix not in ("I", "E") for prefix, _ in parsed])
    end = np.array([scheme == "bio" or prefix not in ("B", "I") for prefix, _ in parsed])
    return allowed, start, end


@keras.saving.register_keras_serializable(package="seqkit")
class CRF(keras.layers.Layer):
    """Linear-chain CRF on top of per-token emission scores.

    The layer passes its input (the emissions, `(batch, time, num_tags)`) through
    unchanged, with its mask, and owns the transition scores. Train with
    `crf.loss()`, predict with `crf.decode(emissions, mask)` (Viterbi).

    Args:
        num_tags: the number of tags (the emissions' last dimension).
        allowed_transitions: optional `(num_tags, num_tags)` booleans, `[i, j]`
            True when tag `j` may follow tag `i`; see `bio_constraints`.
        allowed_start: optional `(num_tags,)` booleans: tags that may start a sequence.
        allowed_end: optional `(num_tags,)` booleans: tags that may end one.
        transition_initializer: initializer of the learned transition scores.

    Examples:
    >>> import numpy as np
    >>> crf = CRF(num_tags=3, transition_initializer="zeros")
    >>> emissions = np.array([[[0.0, 2.0, 0.0], [1.0, 0.0, 0.0]]], "float32")
    >>> ops.convert_to_numpy(crf.decode(emissions)).tolist()
    [[1, 0]]
    """

    def __init__(
        self,
        num_tags,
        allowed_transitions=None,
        allowed_start=None,
        allowed_end=None,
        transition_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(num_tags, int) or num_tags < 1:
            raise ValueError(f"`num_tags` must be a positive integer. Received: num_tags={num_tags!r}")
        self.num_tags = num_tags
        self.allowed_transitions = self._boolean_list(allowed_transitions, (num_tags, num_tags), "allowed_transitions")
        self.allowed_start = self._boolean_list(allowed_start, (num_tags,), "allowed_start")
        self.allowed_end = self._boolean_list(allowed_end, (num_tags,), "allowed_end")
        self.transition_initializer = keras.initializers.get(transition_initializer)
        self.supports_masking = True
        _recent_crf_layers().pop(self.name, None)  # Re-inserted last: the newest layer is the last entry.
        _recent_crf_layers()[self.name] = weakref.ref(self)

    @staticmethod
    def _boolean_list(value, shape, name):
        if value is None:
            return None
        array = np.asarray(value)
        if array.shape != shape:
            raise ValueError(f"`{name}` must have shape {shape}. Received: shape {array.shape}")
        return array.astype(bool).tolist()

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != self.num_tags:
            raise ValueError(
                f"The emissions' last dimension must be num_tags={self.num_tags}. "
                f"Received: input_shape={input_shape}"
            )
        self.transitions = self.add_weight(
            name="transitions", shape=(self.num_tags, self.num_tags), initializer=self.transition_initializer
        )
        self.start_transitions = self.add_weight(
            name="start_transitions", shape=(self.num_tags,), initializer=self.transition_initializer
        )
        self.end_transitions = self.add_weight(
            name="end_transitions", shape=(self.num_tags,), initializer=self.transition_initializer
        )

    def call(self, inputs, mask=None):
        return inputs

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return input_shape

    @property
    def _score_dtype(self):
        return wide_dtype(self.compute_dtype)

    def _scores(self):
        """Transition, start and end scores in `_score_dtype`, with forbidden moves penalised."""

        def constrained(variable, allowed):
            scores = ops.cast(variable, self._score_dtype)
            if allowed is None:
                return scores
            return ops.where(ops.convert_to_tensor(np.asarray(allowed)), scores, scores + FORBIDDEN)

        return (
            constrained(self.transitions, self.allowed_transitions),
            constrained(self.start_transitions, self.allowed_start),
            constrained(self.end_transitions, self.allowed_end),
        )

    def _prepare(self, emissions, mask):
        if not self.built:
            self.build(ops.shape(emissions))
        emissions = ops.cast(emissions, self._score_dtype)
        if mask is None:
            mask = ops.ones(ops.shape(emissions)[:2], dtype="bool")
        mask = ops.cast(mask, "bool")
        # Time-major, for `ops.scan`.
        return ops.transpose(emissions, (1, 0, 2)), ops.transpose(mask, (1, 0))

    def log_likelihood(self, emissions, tags, mask=None):
        """`score(tags) - log Z` per sequence, `(batch,)`. Sequences with no unmasked step give 0."""
        emissions, mask = self._prepare(emissions, mask)
        tags = ops.transpose(ops.cast(tags, "int32"), (1, 0))
        # Padding may carry any id (e.g. -1); it is masked, but must index safely.
        tags = ops.where(mask, ops.clip(tags, 0, self.num_tags - 1), 0)
        transitions, start, end = self._scores()
        batch_size = ops.shape(emissions)[1]
        one_hot_dtype = self._score_dtype

        def step(carry, inputs):
            alpha, gold, previous, seen = carry
            emission, tag, valid = _unpack(inputs, self.num_tags)
            tag_one_hot = ops.one_hot(tag, self.num_tags, dtype=one_hot_dtype)
            previous_one_hot = ops.one_hot(previous, self.num_tags, dtype=one_hot_dtype)
            # Forward algorithm: alpha_j = logsumexp_i(alpha_i + T[i, j]) + e_j.
            moved = ops.logsumexp(ops.expand_dims(alpha, 2) + transitions, axis=1) + emission
            first = start + emission
            new_alpha = ops.where(ops.expand_dims(seen, 1), moved, first)
            transition_score = ops.sum(ops.matmul(previous_one_hot, transitions) * tag_one_hot, axis=1)
            step_score = ops.sum(emission * tag_one_hot, axis=1) + ops.where(
                seen, transition_score, ops.sum(start * tag_one_hot, axis=1)
            )
            alpha = ops.where(ops.expand_dims(valid, 1), new_alpha, alpha)
            gold = ops.where(valid, gold + step_score, gold)
            previous = ops.where(valid, tag, previous)
            seen = ops.logical_or(seen, valid)
            carry = (alpha, gold, previous, seen)
            return carry, carry

        init = (
            ops.zeros((batch_size, self.num_tags), self._score_dtype),
            ops.zeros((batch_size,), self._score_dtype),
            ops.zeros((batch_size,), "int32"),
            ops.zeros((batch_size,), "bool"),
        )
        (alpha, gold, previous, seen), _ = ops.scan(step, init, _pack(emissions, tags, mask))
        log_partition = ops.logsumexp(alpha + end, axis=1)
        gold = gold + ops.take(end, previous)
        return ops.where(seen, gold - log_partition, 0.0)

    def decode(self, emissions, mask=None):
        """The Viterbi path, `(batch, time)` int32; masked steps get 0."""
        emissions, mask = self._prepare(emissions, mask)
        transitions, start, end = self._scores()
        batch_size = ops.shape(emissions)[1]
        identity = ops.broadcast_to(ops.arange(self.num_tags, dtype="int32"), (batch_size, self.num_tags))

        def forward(carry, inputs):
            delta, _, seen = carry
            emission, _, valid = _unpack(inputs, self.num_tags)
            candidates = ops.expand_dims(delta, 2) + transitions
            moved = ops.max(candidates, axis=1) + emission
            pointers = ops.cast(ops.argmax(candidates, axis=1), "int32")
            new_delta = ops.where(ops.expand_dims(seen, 1), moved, start + emission)
            # A step that starts the sequence or is masked points each tag at itself.
            link = ops.expand_dims(ops.logical_and(seen, valid), 1)
            pointers = ops.where(link, pointers, identity)
            delta = ops.where(ops.expand_dims(valid, 1), new_delta, delta)
            carry = (delta, pointers, ops.logical_or(seen, valid))
            return carry, carry

        init = (
            ops.zeros((batch_size, self.num_tags), self._score_dtype),
            identity,
            ops.zeros((batch_size,), "bool"),
        )
        (delta, _, _), (_, pointers, _) = ops.scan(forward, init, _pack(emissions, None, mask))
        pointers = ops.reshape(pointers, (-1, batch_size, self.num_tags))
        last = ops.cast(ops.argmax(delta + end, axis=1), "int32")

        def backward(carry, step_pointers):
            current, _ = carry
            previous = ops.take_along_axis(step_pointers, ops.expand_dims(current, 1), axis=1)[:, 0]
            return (previous, current), (previous, current)

        _, (_, path) = ops.scan(backward, (last, last), pointers, reverse=True)
        path = ops.transpose(path, (1, 0))
        return ops.where(ops.transpose(mask, (1, 0)), path, 0)

    def loss(self):
        """A Keras loss for this layer: mean negative log-likelihood per unmasked token."""
        return CRFLoss(self)

    def get_config(self):
        return {
            **super().get_config(),
            "num_tags": self.num_tags,
            "allowed_transitions": self.allowed_transitions,
            "allowed_start": self.allowed_start,
            "allowed_end": self.allowed_end,
            "transition_initializer": keras.initializers.serialize(self.transition_initializer),
        }


def _pack(emissions, tags, mask):
    # `ops.scan` on TensorFlow fails on several scanned tensors of unknown length
    # (Keras 3.15 asserts on a None static length), so the per-step inputs travel
    # as one float tensor: emissions, then the tag id, then the mask.
    tags = ops.zeros_like(mask, dtype=emissions.dtype) if tags is None else ops.cast(tags, emissions.dtype)
    return ops.concatenate(
        [emissions, ops.expand_dims(tags, -1), ops.expand_dims(ops.cast(mask, emissions.dtype), -1)], axis=-1
    )


def _unpack(packed, num_tags):
    return packed[:, :num_tags], ops.cast(packed[:, num_tags], "int32"), packed[:, num_tags + 1] > 0.5


@keras.saving.register_keras_serializable(package="seqkit")
class CRFLoss(keras.losses.Loss):
    """Negative log-likelihood of a `CRF` layer's gold paths.

    `y_true` holds tag ids, `(batch, time)`; padding is any negative id (or is
    masked by the model's mask). Each sequence's loss is spread evenly over its
    unmasked tokens, so Keras' masked averaging gives the NLL per token.

    It refers to the layer (for the transition scores). Saved with a model, it
    keeps the layer's name; `keras.saving.load_model` binds it to the loaded
    model's CRF layer of that name, so a loaded tagger trains on.
    """

    def __init__(self, crf, name="crf_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.crf = crf

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")
        if len(y_true.shape) == 3:  # (batch, time, 1) from some pipelines
            y_true = ops.squeeze(y_true, -1)
        mask = y_true >= 0
        log_likelihood = self.crf.log_likelihood(y_pred, y_true, mask)
        lengths = ops.maximum(ops.sum(ops.cast(mask, "float32"), axis=1), 1.0)
        per_token = ops.expand_dims(-log_likelihood / lengths, 1)
        return ops.where(mask, per_token, 0.0)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, "crf_name": self.crf.name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        crf_name = config.pop("crf_name", None)
        recent = _recent_crf_layers()
        if crf_name is None and recent:  # Saved before the name was kept: the newest CRF layer.
            crf_name = list(recent)[-1]
        reference = recent.get(crf_name)
        crf = reference() if reference is not None else None
        if crf is None:
            raise ValueError(
                f"A CRFLoss is rebuilt with its model: expected a CRF layer named {crf_name!r} to be loaded "
                "first (load the model with `keras.saving.load_model`, or with `compile=False` and compile it "
                "with `seqkit.compile_tagger`)."
            )
        return cls(crf, **config)


# Models saved before `CRFLoss` was registered name it without the package.
keras.saving.get_custom_objects().setdefault("CRFLoss", CRFLoss)
