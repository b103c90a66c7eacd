"""No pickle anywhere; Keras files load in safe mode; the README warns that a SavedModel is code."""

import re

from conftest import REPO

# Ways Python code can unpickle: each is refused in the library, the recipes and the benchmarks.
UNSAFE = [
    r"^\s*import (c?pickle|dill|joblib|shelve)\b", r"^\s*from (c?pickle|dill|joblib|shelve)\b",
    r"allow_pickle\s*=\s*True", r"safe_mode\s*=\s*False", r"torch\.load\(", r"pd\.read_pickle", r"\.to_pickle\(",
    r"enable_unsafe_deserialization",
]


def source_files():
    for folder in ("seqkit", "recipes", "benchmarks"):
        yield from sorted((REPO / folder).rglob("*.py"))


def test_no_code_path_unpickles_or_turns_safe_mode_off():
    offences = []
    for path in source_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(re.search(pattern, line) for pattern in UNSAFE):
                offences.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offences, "\n".join(offences)
    assert len(list(source_files())) > 30  # The scan saw the code.


def test_the_readme_says_a_savedmodel_is_code():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "A SavedModel is code: load only SavedModels from sources you trust." in readme
    assert "safe_mode=True" in readme
