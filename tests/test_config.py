import dataclasses
import json

import pytest

from seqkit.config import ConfigError, apply_overrides, config_to_json, load_config, parse_args


@dataclasses.dataclass
class Config:
    epochs: int = 10
    learning_rate: float = 0.001
    cell: str = "lstm"
    bidirectional: bool = True
    max_length: int | None = None
    train: str | None = None


def test_overrides_are_typed():
    config = parse_args(Config(), ["--epochs=3", "--learning-rate", "0.01", "--cell=gru", "--max_length=50"])
    assert config == Config(epochs=3, learning_rate=0.01, cell="gru", max_length=50)


def test_boolean_flags_and_none():
    assert parse_args(Config(), ["--no-bidirectional"]).bidirectional is False
    assert parse_args(Config(bidirectional=False), ["--bidirectional"]).bidirectional is True
    assert parse_args(Config(), ["--bidirectional=false"]).bidirectional is False
    assert parse_args(Config(max_length=5), ["--max-length=none"]).max_length is None


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--epochs=three"], r"--epochs expects int. Received: 'three'"),
        (["--learning-rate=fast"], "--learning-rate expects float"),
        (["--bidirectional=maybe"], "--bidirectional expects bool"),
        (["--max-length=1.5"], "--max-length expects int or None"),
        (["--unknown=1"], "Unknown option --unknown"),
        (["epochs=3"], "Expected --key=value"),
        (["--epochs"], "--epochs expects a value"),
    ],
)
def test_bad_overrides_are_clear_errors(argv, message):
    with pytest.raises(ConfigError, match=message):
        parse_args(Config(), argv)


def test_config_file_round_trip(tmp_path):
    saved = Config(epochs=4, cell="gru", max_length=7)
    path = tmp_path / "config.json"
    path.write_text(config_to_json(saved))
    assert load_config(Config(), path) == saved
    # Later command-line options win over the file.
    assert parse_args(Config(), ["--config", str(path), "--epochs=9"]) == dataclasses.replace(saved, epochs=9)


def test_bad_config_files(tmp_path):
    with pytest.raises(ConfigError, match="Config file not found"):
        load_config(Config(), tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"epochs": 3,\n "cell": }')
    with pytest.raises(ConfigError, match="broken.json, line 2"):
        load_config(Config(), broken)
    typed = tmp_path / "typed.json"
    typed.write_text(json.dumps({"epochs": "many"}))
    with pytest.raises(ConfigError, match="--epochs expects int"):
        load_config(Config(), typed)


def test_apply_overrides_rejects_bool_for_int():
    with pytest.raises(ConfigError):
        apply_overrides(Config(), {"epochs": True})
