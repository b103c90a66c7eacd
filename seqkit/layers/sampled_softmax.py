"""Sampled softmax (Jean et al. 2015): a large-vocabulary language model's loss from a few sampled words per batch.

A word LM's full softmax costs `hidden_dim × vocabulary_size` multiply-adds per
token, which for a small LSTM over a 30k-word vocabulary is most of training.
Sampled softmax scores each target against `num_sampled` words drawn once per
batch from a log-uniform (Zipfian) proposal over frequency-ranked ids, with each
logit corrected by the log of its expected count, as TensorFlow's
`tf.nn.sampled_softmax_loss` does. Keras has no sampled softmax and TensorFlow's
runs on TensorFlow only, so this one is written with `keras.ops`.
"""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="seqkit")
class SampledSoftmaxLoss(keras.layers.Layer):
    """Per-token negative log-likelihood under a `Dense` softmax layer: sampled while training, exact otherwise.

    Call arguments: `hidden` `(batch, time, dim)`, the inputs of `output_layer`,
    and `targets` `(batch, time)` ids (0 is padding). Returns `(batch, time)`
    nats, 0 at padding. With `training=False` the value is the exact
    cross-entropy of the full softmax, so validation losses and perplexities stay
    comparable with full-softmax training; with `training=True` it is the sampled
    estimate, whose gradient touches only the targets' and the sampled words'
    output weights.

    Args:
        output_layer: the `keras.layers.Dense(vocabulary_size)` whose kernel and
            bias are the softmax (shared, not copied). Ids must be ranked by
            frequency (as `seqkit.data.Vocabulary.build` ranks them) for the
            log-uniform proposal to fit.
        num_sampled: words drawn per batch (with replacement), shared by its tokens.
        seed: the sampling seed.

    Examples:
    >>> import numpy as np
    >>> output_layer = keras.layers.Dense(50, kernel_initializer="zeros")
    >>> output_layer.build((None, 4))
    >>> loss = SampledSoftmaxLoss(output_layer, num_sampled=8, seed=0)
    >>> hidden, targets = np.ones((2, 3, 4), "float32"), np.array([[5, 6, 0], [7, 0, 0]])
    >>> tuple(loss(hidden, targets, training=True).shape)
    (2, 3)
    >>> exact = loss(hidden, targets).numpy()  # training=False: full softmax.
    >>> bool(np.allclose(exact[0, 0], np.log(50))), float(exact[0, 2])  # Zero kernel: uniform; padding: 0.
    (True, 0.0)
    """

    def __init__(self, output_layer, num_sampled=1024, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(output_layer, keras.layers.Dense):
            raise ValueError(f"`output_layer` must be a keras.layers.Dense. Received: {type(output_layer).__name__}")
        if not isinstance(num_sampled, int) or num_sampled < 1:
            raise ValueError(f"`num_sampled` must be a positive int. Received: num_sampled={num_sampled!r}")
        self.output_layer = output_layer
        self.num_sampled = num_sampled
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Padding is read from the targets (id 0); the hidden states' mask is consumed here.
        self.supports_masking = True

    def build(self, hidden_shape, targets_shape=None):
        if not self.output_layer.built:
            self.output_layer.build(hidden_shape)

    def _log_expected_count(self, ids):
        # Log-uniform over ids 0..V-1: P(id) = log((id + 2) / (id + 1)) / log(V + 1).
        ids = ops.cast(ids, "float32")
        probability = ops.log((ids + 2.0) / (ids + 1.0)) / math.log(self.output_layer.units + 1)
        return ops.log(self.num_sampled * probability)

    def sample(self):
        """`num_sampled` ids drawn with replacement from the log-uniform proposal."""
        vocabulary_size = self.output_layer.units
        uniform = keras.random.uniform((self.num_sampled,), seed=self.seed_generator)
        sampled = ops.cast(ops.exp(uniform * math.log(vocabulary_size + 1)), "int32") - 1
        return ops.clip(sampled, 0, vocabulary_size - 1)

    def sampled_losses(self, hidden, targets, sampled):
        """Each token's loss against the words `sampled` `(num_sampled,)`: its training-time value."""
        kernel, bias = self.output_layer.kernel, self.output_layer.bias
        target_weights = ops.moveaxis(ops.take(kernel, targets, axis=1), 0, -1)  # (batch, time, dim)
        true_logits = ops.sum(hidden * target_weights, axis=-1) + ops.take(bias, targets)
        true_logits -= self._log_expected_count(targets)
        sampled_logits = ops.matmul(hidden, ops.take(kernel, sampled, axis=1)) + ops.take(bias, sampled)
        sampled_logits -= self._log_expected_count(sampled)
        # A sampled word that is the token's own target is not a negative ("accidental hit").
        hits = ops.equal(targets[..., None], sampled[None, None, :])
        sampled_logits = ops.where(hits, ops.full_like(sampled_logits, -1e9), sampled_logits)
        logits = ops.concatenate([true_logits[..., None], sampled_logits], axis=-1)
        return ops.logsumexp(logits, axis=-1) - true_logits

    def call(self, hidden, targets, training=False):
        targets = ops.cast(targets, "int32")
        hidden = ops.cast(hidden, self.output_layer.kernel.dtype)
        if training:
            losses = self.sampled_losses(hidden, targets, self.sample())
        else:
            losses = ops.sparse_categorical_crossentropy(targets, self.output_layer(hidden), from_logits=True)
        return ops.where(ops.not_equal(targets, 0), losses, ops.zeros_like(losses))

    def compute_mask(self, hidden, targets=None, mask=None):
        return None

    def compute_output_shape(self, hidden_shape, targets_shape=None):
        return tuple(hidden_shape[:-1])

    def get_config(self):
        config = super().get_config()
        config.update({
            "output_layer": keras.saving.serialize_keras_object(self.output_layer),
            "num_sampled": self.num_sampled,
            "seed": self.seed,
        })
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["output_layer"] = keras.saving.deserialize_keras_object(config["output_layer"])
        return cls(**config)


def mean_token_loss(targets, token_losses):
    """A Keras loss: the mean of per-token losses over the tokens whose target is not padding (id 0)."""
    mask = ops.cast(ops.not_equal(targets, 0), token_losses.dtype)
    return ops.sum(token_losses * mask) / ops.maximum(ops.sum(mask), 1.0)
