"""ELMo's contextual word features: a learned scalar mix of a bidirectional LM's layers."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="seqkit")
class ContextualEmbedding(keras.layers.Layer):
    """Token ids -> `scale * sum_k softmax(w)_k * h_k`, over the layers `h_k` of a pretrained BiLM.

    `h_0` is the BiLM's token representation (repeated for both directions) and
    `h_k` the forward and backward states of recurrent layer k, concatenated:
    ELMo (Peters et al. 2018, eq. 1). The mix weights `w` and the scale are
    trained with the task model; the BiLM itself is frozen unless
    `trainable_bilm=True`. Keras has no such layer and keras-hub's pretrained
    models are transformers, so seqkit keeps its own.

    Args:
        bilm: a model from `build_bidirectional_language_model` (its softmax is
            dropped), or the feature model a saved layer holds.
        trainable_bilm: fine-tune the BiLM's weights with the task.
        include_token_layer: mix in `h_0` too. Needs the BiLM's
            `embedding_dim == units`; `None` includes it exactly when they match.
        dropout: dropout on the mixed features.

    Inputs are what the BiLM takes: token ids `(batch, time)` (0 is padding and
    is masked), or a dict with `token_ids` and `chars` for a char-aware BiLM.

    Examples:
    >>> import numpy as np
    >>> from seqkit.models.bilm import build_bidirectional_language_model
    >>> bilm = build_bidirectional_language_model(20, embedding_dim=8, units=8, num_layers=2)
    >>> layer = ContextualEmbedding(bilm)
    >>> tuple(layer(np.array([[5, 6, 0]])).shape), layer.num_mixed_layers
    ((1, 3, 16), 3)
    """

    def __init__(self, bilm, trainable_bilm=False, include_token_layer=None, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        from seqkit.models.bilm import layer_outputs

        if "logits" in [layer.name for layer in bilm.layers]:  # A whole BiLM: keep the layers the mix reads.
            pairs = layer_outputs(bilm)
            token_width, state_width = pairs[0][0].shape[-1], pairs[1][0].shape[-1]
            if include_token_layer is None:
                include_token_layer = token_width == state_width
            if include_token_layer and token_width != state_width:
                raise ValueError(
                    "`include_token_layer=True` needs the BiLM's token representation as wide as its recurrent "
                    f"states (embedding_dim == units). Received: {token_width} and {state_width}"
                )
            pairs = pairs if include_token_layer else pairs[1:]
            outputs = [keras.layers.Concatenate(name=f"mixed_layer_{index}")(list(pair))
                       for index, pair in enumerate(pairs)]
            bilm = keras.Model(bilm.input, outputs, name=f"{bilm.name}_features")
        self.bilm = bilm
        self.trainable_bilm = bool(trainable_bilm)
        self._apply_trainable_bilm()
        self.include_token_layer = include_token_layer
        self.dropout = float(dropout)
        self.num_mixed_layers = len(bilm.outputs)
        self.output_dim = int(bilm.outputs[0].shape[-1])
        self.dropout_layer = keras.layers.Dropout(self.dropout)
        self.supports_masking = True
        # Known before any input is seen, so made here: `mix_weights()` works on a fresh layer.
        self.mix_logits = self.add_weight(shape=(self.num_mixed_layers,), initializer="zeros", name="mix_logits")
        self.scale = self.add_weight(shape=(), initializer="ones", name="scale")

    def _apply_trainable_bilm(self):
        # Set twice: a BiLM rebuilt from a saved config has layers already marked frozen whose
        # sublayers (made after the flag was set) are not, and Keras only passes the flag down to
        # sublayers when it changes. Without this, a frozen BiLM would train after loading.
        self.bilm.trainable = not self.trainable_bilm
        self.bilm.trainable = self.trainable_bilm

    def build(self, input_shape):
        self.built = True

    def call(self, inputs, training=None):
        if not isinstance(inputs, dict):
            inputs = {"token_ids": inputs}
        layers = self.bilm(inputs, training=bool(training) and self.trainable_bilm)
        layers = layers if isinstance(layers, (list, tuple)) else [layers]
        weights = ops.softmax(self.mix_logits)
        mixed = sum(ops.cast(weights[index], layer.dtype) * layer for index, layer in enumerate(layers))
        return self.dropout_layer(ops.cast(self.scale, mixed.dtype) * mixed, training=training)

    def mix_weights(self):
        """The softmax-normalized weight of each mixed layer, bottom first (numpy)."""
        return ops.convert_to_numpy(ops.softmax(self.mix_logits))

    def compute_mask(self, inputs, mask=None):
        token_ids = inputs["token_ids"] if isinstance(inputs, dict) else inputs
        return ops.not_equal(token_ids, 0)

    def compute_output_shape(self, input_shape):
        shape = input_shape["token_ids"] if isinstance(input_shape, dict) else input_shape
        return (*tuple(shape)[:2], self.output_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            bilm=keras.saving.serialize_keras_object(self.bilm),
            trainable_bilm=self.trainable_bilm,
            include_token_layer=self.include_token_layer,
            dropout=self.dropout,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["bilm"] = keras.saving.deserialize_keras_object(config["bilm"])
        return cls(**config)
