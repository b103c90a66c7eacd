"""Small helpers shared across seqkit: atomic writes of files and directories, and dtype rules."""

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path

import keras


def atomic_write_text(path, text, encoding="utf-8"):
    """Writes `text` to `path` through a temporary file and a rename.

    A reader sees either the old file or the complete new one, never half of it.
    """
    path = Path(os.fspath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding=encoding) as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it owner-only; a written file is for everyone to read.
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _remove_orphaned_staging(folder):
    """Removes staging folders (`.<name>.<pid>.<random>.tmp`) left by processes that were killed mid-write."""
    for path in Path(folder).glob(".*.tmp"):
        match = re.fullmatch(r"\.(.+)\.(\d+)\.[^.]+\.tmp", path.name)
        if not match or not path.is_dir():
            continue
        try:
            os.kill(int(match.group(2)), 0)  # Signal 0: is that process alive?
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except (PermissionError, OverflowError):
            pass  # Alive under another user, or not a pid: leave it.


@contextlib.contextmanager
def atomic_directory(final_path):
    """Yields a temporary directory that is renamed to `final_path` on success.

    `final_path` must not exist: it is never overwritten. On any error the
    temporary directory is removed and `final_path` is left untouched.
    """
    final_path = Path(os.fspath(final_path))
    if final_path.exists():
        raise FileExistsError(f"Refusing to overwrite existing path: {final_path}")
    final_path.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphaned_staging(final_path.parent)
    prefix = f".{final_path.name}.{os.getpid()}."
    temporary = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=final_path.parent))
    try:
        yield temporary
        os.chmod(temporary, 0o755)  # mkdtemp makes it owner-only; servers often run as another user.
        os.rename(temporary, final_path)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def save_model_atomic(model, path):
    """Saves a Keras model to a `.keras` file atomically."""
    path = Path(os.fspath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.tmp.keras")
    try:
        model.save(temporary)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def output_dtype():
    """The dtype of a model's output layer: `"float32"` under a half-precision global policy, else None.

    Keras' mixed-precision guide keeps a model's outputs (logits, probabilities)
    and its loss in float32; None leaves the layer on the global policy.

    Examples:
    >>> output_dtype() is None  # The default float32 policy.
    True
    """
    return "float32" if keras.config.dtype_policy().compute_dtype in ("float16", "bfloat16") else None


def wide_dtype(dtype):
    """float32 for a half-precision dtype (mixed precision), else `dtype` itself.

    Softmax-like sums (attention weights, a CRF's forward algorithm) need float32's
    range under mixed precision, and no narrowing otherwise (float64 stays float64).

    Examples:
    >>> wide_dtype("bfloat16"), wide_dtype("float64")
    ('float32', 'float64')
    """
    return "float32" if dtype in ("float16", "bfloat16") else dtype
