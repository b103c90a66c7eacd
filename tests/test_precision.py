"""Mixed precision: every builder computes in half precision under `seqkit.training.precision`, outputs float32."""

import keras
import numpy as np
import pytest

import seqkit
from seqkit.models import language_model, seq2seq
from seqkit.training import precision

RNG = np.random.default_rng(0)
IDS = RNG.integers(1, 30, size=(8, 6)).astype("int32")


def classifier():
    model = seqkit.build_classifier(30, num_classes=3, head="multiclass", units=8, embedding_dim=8, ngram_dim=4,
                                    ngram_buckets=50)
    seqkit.compile_classifier(model, head="multiclass")
    return model, IDS, RNG.integers(0, 3, size=8)


def tagger():
    model = seqkit.build_tagger(30, ["O", "B-PER", "I-PER"], units=8, word_embedding_dim=8, char_encoder=None,
                                casing_dim=0)
    seqkit.compile_tagger(model)
    return model, {"words": IDS}, RNG.integers(0, 3, size=(8, 6))


def lm():
    model = language_model.build_language_model(30, embedding_dim=8, units=8)
    language_model.compile_language_model(model)
    return model, IDS, RNG.integers(1, 30, size=(8, 6))


def encoder_decoder():
    model = seq2seq.build_seq2seq(30, 20, embedding_dim=8, units=8, attention_units=8)
    seq2seq.compile_seq2seq(model)
    return model, {"source_ids": IDS, "target_ids": IDS % 20}, RNG.integers(1, 20, size=(8, 6))


@pytest.mark.parametrize("build", [classifier, lm, pytest.param(tagger, marks=pytest.mark.slow),
                                   pytest.param(encoder_decoder, marks=pytest.mark.slow)], ids=lambda f: f.__name__)
def test_builders_compute_in_bfloat16_and_output_float32(build):
    keras.utils.set_random_seed(0)
    with precision("mixed_bfloat16"):
        model, inputs, targets = build()
    assert keras.config.dtype_policy().name == "float32"  # Restored after the block.
    assert model.get_layer("recurrent_stack" if build is not encoder_decoder else "encoder").compute_dtype == "bfloat16"
    assert all(weight.dtype == "float32" for weight in model.weights)
    outputs = model.predict(inputs, verbose=0)
    assert outputs.dtype == np.float32 and np.isfinite(outputs).all()
    logs = model.train_on_batch(inputs, targets, return_dict=True)
    assert np.isfinite(logs["loss"])


def test_mixed_float16_scales_the_loss_and_bad_policies_say_what_is_allowed():
    with precision("mixed_float16"):
        model, inputs, targets = classifier()
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.predict(inputs, verbose=0).dtype == np.float32
    with pytest.raises(ValueError, match=r"one of \('float32', 'mixed_float16', 'mixed_bfloat16'\). Received: 'fp8'"):
        with precision("fp8"):
            pass


@pytest.mark.parametrize("name", ["sentiment", "ner", "textgen", "dates", "translate"])
def test_recipes_take_a_precision_and_reject_an_unknown_one(name):
    from conftest import load_recipe

    recipe = load_recipe(name)
    assert recipe.Config().precision == "float32"
    config = recipe.config_lib.parse_args(recipe.Config(), ["--precision=fp8"])
    with pytest.raises(recipe.config_lib.ConfigError, match="--precision must be one of"):
        recipe.check_config(config)


@pytest.mark.slow
def test_the_dates_recipe_trains_and_exports_in_mixed_bfloat16(tmp_path):
    from conftest import load_recipe

    dates = load_recipe("dates")
    code = dates.main(["--quick", "--num-train=600", "--num-dev=64", "--num-test=32", "--epochs=1", "--num-plots=0",
                       "--precision=mixed_bfloat16", f"--workdir={tmp_path / 'run'}", f"--export-dir={tmp_path / 'x'}"])
    assert code == 0
    assert keras.config.dtype_policy().name == "float32"
    assert (tmp_path / "x" / "dates" / "1" / "saved_model.pb").is_file()
