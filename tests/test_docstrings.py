"""Every docstring example in seqkit runs and prints what it shows."""

import doctest
import importlib
import pkgutil

import pytest

import seqkit

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(seqkit.__path__, prefix="seqkit.")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples failed in {name}"
