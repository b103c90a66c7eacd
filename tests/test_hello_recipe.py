"""recipes/hello.py: 3 hidden units learn "hello", and the tables show it."""

import json

import pytest

from conftest import load_recipe


@pytest.fixture(scope="module")
def hello():
    return load_recipe("hello")


def test_learns_hello_and_prints_confidences(hello, tmp_path, capsys):
    assert hello.main([f"--workdir={tmp_path}"]) == 0
    printed = capsys.readouterr().out
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["characters"] == ["h", "e", "l", "o"]
    # "hell" -> "ello": the two "l" steps need different answers, which only the state can give.
    assert metrics["correct_after"] == 4 and metrics["loss_after"] < 0.05 < metrics["loss_before"]
    after = metrics["confidences_after"]
    assert after[2][2] > 0.9 and after[3][3] > 0.9  # After the first l: l; after the second: o.
    assert "Before training" in printed and "After 300 steps" in printed
    table = printed.split("After 300 steps")[1]
    assert "'l'     'o' |" in table and "4 of 4 next characters right" in printed


def test_other_words_and_bad_input(hello, tmp_path, capsys):
    assert hello.main(["--text=banana", "--units=4", "--steps=20", f"--workdir={tmp_path / 'banana'}"]) == 0
    metrics = json.loads((tmp_path / "banana" / "metrics.json").read_text())
    assert metrics["characters"] == ["b", "a", "n"] and metrics["steps"] == 5
    assert hello.main(["--text=h", f"--workdir={tmp_path / 'bad'}"]) == 2
    assert "--text needs at least 2 characters" in capsys.readouterr().err
