"""Recipe configs: a dataclass is the single source of truth, the command line overrides it.

`--key=value` or `--key value` sets a field (dashes and underscores are the
same), `--flag` sets a boolean to True and `--no-flag` to False, and
`--config FILE.json` loads a saved config first. Values are type-checked
against the field types, and an unknown key is an error.
"""

import dataclasses
import json
import types
import typing


class ConfigError(ValueError):
    """A bad command-line override or config file."""


def _field_types(config):
    hints = typing.get_type_hints(type(config))
    return {field.name: hints[field.name] for field in dataclasses.fields(config)}


def _base_type(annotation):
    """`int | None` -> (int, True); `int` -> (int, False)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        arguments = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(arguments) == 1:
            return arguments[0], True
    return annotation, False


def convert(name, raw, annotation):
    """Converts a string (or JSON value) to a field's type, or raises ConfigError."""
    kind, optional = _base_type(annotation)
    if optional and (raw is None or (isinstance(raw, str) and raw.lower() in ("none", "null", ""))):
        return None
    if isinstance(raw, kind) and not (kind is int and isinstance(raw, bool)):
        return raw
    if kind is bool:
        if isinstance(raw, str) and raw.lower() in ("true", "1", "yes", "on"):
            return True
        if isinstance(raw, str) and raw.lower() in ("false", "0", "no", "off"):
            return False
    elif kind is int and isinstance(raw, str):
        try:
            return int(raw)
        except ValueError:
            pass
    elif kind is float and isinstance(raw, (str, int)) and not isinstance(raw, bool):
        try:
            return float(raw)
        except ValueError:
            pass
    elif kind is str and isinstance(raw, str):
        return raw
    expected = kind.__name__ + (" or None" if optional else "")
    raise ConfigError(f"--{name.replace('_', '-')} expects {expected}. Received: {raw!r}")


def apply_overrides(config, overrides, source="command line"):
    """Returns a copy of `config` with `{name: value}` overrides applied and checked."""
    types_by_name = _field_types(config)
    changes = {}
    for key, raw in overrides.items():
        name = key.replace("-", "_")
        if name not in types_by_name:
            known = ", ".join("--" + n.replace("_", "-") for n in types_by_name)
            raise ConfigError(f"Unknown option --{key} ({source}). Known options: {known}")
        changes[name] = convert(name, raw, types_by_name[name])
    return dataclasses.replace(config, **changes)


def parse_args(config, argv):
    """Parses `argv` (without the program name) into a new config.

    Examples:
    >>> @dataclasses.dataclass
    ... class Config:
    ...     epochs: int = 10  # Passes over the training data.
    ...     quick: bool = False  # Small, fast run.
    >>> parse_args(Config(), ["--epochs=3", "--quick"])
    Config(epochs=3, quick=True)
    """
    types_by_name = _field_types(config)
    overrides, position = {}, 0
    argv = list(argv)
    while position < len(argv):
        argument = argv[position]
        position += 1
        if not argument.startswith("--") or argument == "--":
            raise ConfigError(f"Expected --key=value arguments. Received: {argument!r}")
        key, has_value, value = argument[2:].partition("=")
        name = key.replace("-", "_")
        if key == "config":
            if not has_value:
                if position >= len(argv):
                    raise ConfigError("--config expects a JSON file path.")
                value, position = argv[position], position + 1
            config = load_config(config, value)
            continue
        if not has_value:
            kind = _base_type(types_by_name.get(name, str))[0]
            if kind is bool:
                value = "true"
            elif name.startswith("no_") and _base_type(types_by_name.get(name[3:], str))[0] is bool:
                key, value = key[3:], "false"
            elif position < len(argv) and not argv[position].startswith("--"):
                value, position = argv[position], position + 1
            elif name in types_by_name:
                raise ConfigError(f"--{key} expects a value.")
        overrides[key] = value
    return apply_overrides(config, overrides)


def load_config(config, path):
    """Applies the fields saved in a JSON file (as written by `save_config`) to `config`."""
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except FileNotFoundError:
        raise ConfigError(f"Config file not found: {path}") from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}, line {error.lineno}: not valid JSON ({error.msg}).") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object of config fields.")
    return apply_overrides(config, data, source=str(path))


def check_choices(config, choices):
    """Raises `ConfigError` unless every named field holds one of its allowed values.

    Example:
    >>> @dataclasses.dataclass
    ... class Config:
    ...     cell: str = "rnn"
    >>> check_choices(Config(), {"cell": ("lstm", "gru")})
    Traceback (most recent call last):
    ...
    seqkit.config.ConfigError: --cell must be one of ('lstm', 'gru'). Received: 'rnn'
    """
    for option, allowed in dict(choices).items():
        value = getattr(config, option)
        if value not in allowed:
            raise ConfigError(f"--{option.replace('_', '-')} must be one of {tuple(allowed)}. Received: {value!r}")


def config_to_json(config):
    return json.dumps(dataclasses.asdict(config), indent=2, sort_keys=True)


def describe(config):
    """One line per field with its value and the comment-free name, for `--help`."""
    return "\n".join(f"  --{f.name.replace('_', '-')}={getattr(config, f.name)!r}" for f in dataclasses.fields(config))


def run_main(config, run, argv, doc=""):
    """A recipe's command line: `--help`, typed overrides of `config`, then `run(config)`.

    Bad input (a `ValueError`, which `DataError` and `ConfigError` are) ends with
    one `error: ...` line on stderr and exit code 2; success returns 0.
    """
    import sys

    if argv and argv[0] in ("-h", "--help"):
        print(doc)
        print("Options (defaults):\n" + describe(config))
        return 0
    try:
        run(parse_args(config, argv))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
