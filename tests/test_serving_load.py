"""Exported models under concurrent load: 8 threads x 500 one-string requests, 0 errors, the sequential outputs."""

import threading

import numpy as np
import pytest
import tensorflow as tf

THREADS, REQUESTS = 8, 500
TEXTS = ["A fine film .", "Dull , dull , dull .", "", "Alice flew to Paris on Monday .", "🙂 " * 30,
         "the plot of the film", "Bob and Rome", "x" * 2000, "good", "bad acting in Berlin"]


def as_numpy(outputs):
    return {key: value.numpy() for key, value in outputs.items()}


@pytest.mark.slow  # Default-run budget (10 min on 2 cores); `pytest -m slow` runs it.
@pytest.mark.parametrize("kind", ["classifier", "tagger"])
def test_eight_threads_of_500_requests_match_sequential_calls(tiny_exports, kind):
    serve = tf.saved_model.load(str(tiny_exports[kind])).signatures["serving_default"]
    expected = [as_numpy(serve(text=tf.constant([text]))) for text in TEXTS]
    errors, mismatches = [], []

    def client(number):
        try:
            for request in range(REQUESTS):
                index = (number * 7 + request) % len(TEXTS)
                outputs = as_numpy(serve(text=tf.constant([TEXTS[index]])))
                for key, value in expected[index].items():
                    if value.dtype == object:
                        same = value.shape == outputs[key].shape and (value == outputs[key]).all()
                    else:
                        same = np.allclose(value, outputs[key], atol=1e-6)
                    if not same:
                        mismatches.append((index, key))
        except Exception as error:  # noqa: BLE001 - every failure is counted, none may happen.
            errors.append(repr(error))

    threads = [threading.Thread(target=client, args=(number,)) for number in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == [] and mismatches == [], (errors[:3], mismatches[:10])
