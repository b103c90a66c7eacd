"""The dataset registry: what each public dataset is, where to find it, how to verify it.

A dataset is looked up, in order, in:

1. an explicit `data_dir` argument;
2. `$SEQKIT_DATA_DIR/<folder>` (or `$SEQKIT_DATA_DIR/<name>`);
3. the user cache, `$SEQKIT_CACHE_DIR` or `~/.cache/seqkit/datasets/<name>`;
4. a download from the canonical public URL into the cache.

Files with a known SHA-256 are verified before use. A corrupted cached file is
fetched again; a mismatch anywhere else is a `DataError`.

Examples:
>>> import seqkit
>>> seqkit.datasets.info("mr").splits
{'all': 10662}
>>> texts, labels = seqkit.datasets.load_mr()["all"]  # doctest: +SKIP
"""

import dataclasses
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import urllib.request
import warnings
import zipfile
from pathlib import Path

from seqkit.data import readers
from seqkit.data.errors import DataError

ENV_DATA_DIR = "SEQKIT_DATA_DIR"
ENV_CACHE_DIR = "SEQKIT_CACHE_DIR"


@dataclasses.dataclass(frozen=True)
class Source:
    """One download: a URL, the SHA-256 of what it serves, and which archive members to keep."""

    url: str
    sha256: str
    # Archive member -> local file name. `None` keeps the download itself, under `filename`.
    members: dict = None
    filename: str = None


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is and how seqkit finds it."""

    name: str  # Registry name, e.g. "mr".
    title: str  # Human-readable title.
    task: str  # "classification", "tagging", "language-modeling" or "translation".
    splits: dict  # Split name -> number of examples.
    size: str  # Size on disk of the files seqkit reads.
    license: str  # Licence or terms of use.
    citation: str  # How to cite it.
    homepage: str  # Where it is described.
    folder: str  # The folder name used in shared data directories.
    # Each layout is a tuple of file names; a folder holding any one layout is complete.
    layouts: tuple
    checksums: dict  # File name -> SHA-256, for every file name seqkit knows.
    sources: tuple  # Downloads that produce the first layout the cache can hold.


_REGISTRY = {}


def _register(info):
    _REGISTRY[info.name] = info
    return info


_register(
    DatasetInfo(
        name="mr",
        title="MR / rt-polarity v1.0 sentence polarity (Pang & Lee 2005)",
        task="classification",
        splits={"all": 10662},
        size="1.2 MB (two Latin-1 text files)",
        license="No explicit licence; distributed by the authors for research use.",
        citation="Bo Pang and Lillian Lee. 2005. Seeing stars: Exploiting class relationships for "
        "sentiment categorization with respect to rating scales. ACL 2005.",
        homepage="https://www.cs.cornell.edu/people/pabo/movie-review-data/",
        folder="mr-rt-polarity",
        layouts=(("rt-polarity.pos", "rt-polarity.neg"),),
        checksums={
            "rt-polarity.pos": "2da124ec187a9d5a29c9f04e91c540e02baed5af8868f550a26bd6fd4dbf8bf0",
            "rt-polarity.neg": "4ace77d558c3714723843f1d65b60c01e3417b208180f0728808d76ad0eeeaca",
        },
        sources=(
            Source(
                url="https://www.cs.cornell.edu/people/pabo/movie-review-data/rt-polaritydata.tar.gz",
                sha256=None,  # The archive is not pinned; its two members are verified instead.
                members={
                    "rt-polaritydata/rt-polarity.pos": "rt-polarity.pos",
                    "rt-polaritydata/rt-polarity.neg": "rt-polarity.neg",
                },
            ),
        ),
    )
)

_register(
    DatasetInfo(
        name="imdb",
        title="IMDB Large Movie Review Dataset v1.0 (Maas et al. 2011), labelled train/test",
        task="classification",
        splits={"train": 25000, "test": 25000},
        size="28.6 MB (tar.gz of the labelled reviews) or 84.1 MB (original archive)",
        license="No explicit licence; research use, cite the ACL 2011 paper.",
        citation="Andrew L. Maas, Raymond E. Daly, Peter T. Pham, Dan Huang, Andrew Y. Ng, Christopher "
        "Potts. 2011. Learning Word Vectors for Sentiment Analysis. ACL-HLT 2011.",
        homepage="https://ai.stanford.edu/~amaas/data/sentiment/",
        folder="imdb-aclImdb",
        layouts=(("aclImdb_train_test.tar.gz",), ("aclImdb_v1.tar.gz",)),
        checksums={
            "aclImdb_train_test.tar.gz": "18e7a4c90bd41d9ce07da2f009f480b9a7b1db2a955b6fea6441f1f655350ae8",
            "aclImdb_v1.tar.gz": "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
        },
        sources=(
            Source(
                url="https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
                sha256="c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
                filename="aclImdb_v1.tar.gz",
            ),
        ),
    )
)

def _files_at(url_prefix, checksums):
    """One download per file, `url_prefix + name`, verified against its checksum."""
    return tuple(Source(url=url_prefix + name, sha256=sha, filename=name) for name, sha in checksums.items())


_CONLL2003_CHECKSUMS = {
    "eng.train": "bed631399cb0e859c4b446438ce57dfe0208792ca6106ef11620877355494c3a",
    "eng.testa": "aa83a45b88e4952998156583e2ff5a8be7c1f04fb9efa3a29cd87fac2c883807",
    "eng.testb": "443914daf51328868558859b28252a28caee2fd02b65e77987977d6489246c5f",
}
_register(
    DatasetInfo(
        name="conll2003",
        title="CoNLL-2003 English NER (Tjong Kim Sang & De Meulder 2003), IOB1",
        task="tagging",
        splits={"train": 14041, "dev": 3250, "test": 3453},
        size="4.9 MB (eng.train, eng.testa, eng.testb)",
        license="Annotations free; text is Reuters RCV1, research use under the Reuters Corpus agreement.",
        citation="Erik F. Tjong Kim Sang and Fien De Meulder. 2003. Introduction to the CoNLL-2003 Shared "
        "Task: Language-Independent Named Entity Recognition. CoNLL 2003.",
        homepage="https://www.clips.uantwerpen.be/conll2003/ner/",
        folder="conll2003",
        layouts=(tuple(_CONLL2003_CHECKSUMS),),
        checksums=_CONLL2003_CHECKSUMS,
        # The text is not freely redistributed; this is the copy circulated with LM-LSTM-CRF/HSCRF.
        sources=_files_at(
            "https://raw.githubusercontent.com/ZhixiuYe/HSCRF-pytorch/86bb64890317b74517c5ad44b47c66635df327d8/data/",
            _CONLL2003_CHECKSUMS,
        ),
    )
)

_CONLL2002_CHECKSUMS = {
    "esp.train": "4bfdbbfe46fd3a8587ba5262571d1ad996933eda4814eae602a447580fe114bc",
    "esp.testa": "6cf70d5c753784ab65ebb4f864767b0db02f1276744a2310d7d825213b1c5cac",
    "esp.testb": "57db3dd40984a1eec64f03a1af173e7ee1628f92015f00aaa8be221d1b0bdcfd",
}
_register(
    DatasetInfo(
        name="conll2002-es",
        title="CoNLL-2002 Spanish NER (Tjong Kim Sang 2002), BIO, UTF-8",
        task="tagging",
        splits={"train": 8323, "dev": 1915, "test": 1517},
        size="3.0 MB (esp.train, esp.testa, esp.testb)",
        license="EFE news text made available for the CoNLL-2002 shared task; research use.",
        citation="Erik F. Tjong Kim Sang. 2002. Introduction to the CoNLL-2002 Shared Task: "
        "Language-Independent Named Entity Recognition. CoNLL 2002.",
        homepage="https://www.clips.uantwerpen.be/conll2002/ner/",
        folder="conll2002-esp",
        layouts=(tuple(_CONLL2002_CHECKSUMS),),
        checksums=_CONLL2002_CHECKSUMS,
        sources=_files_at(
            "https://raw.githubusercontent.com/ragerri/evaluation-spanish-language-models/"
            "1c4579e54ab2bfa16f28c960cee554328c51c318/conll2002/",
            _CONLL2002_CHECKSUMS,
        ),
    )
)

_register(
    DatasetInfo(
        name="tinyshakespeare",
        title="Tiny Shakespeare (Karpathy, char-rnn)",
        task="language-modeling",
        splits={"characters": 1115394},
        size="1.1 MB (input.txt)",
        license="Public domain text.",
        citation="A. Karpathy. char-rnn, 2015. https://github.com/karpathy/char-rnn",
        homepage="https://github.com/karpathy/char-rnn",
        folder="tinyshakespeare",
        layouts=(("input.txt",),),
        checksums={"input.txt": "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"},
        sources=(
            Source(
                url="https://raw.githubusercontent.com/karpathy/char-rnn/"
                "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/input.txt",
                sha256="86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                filename="input.txt",
            ),
        ),
    )
)

_register(
    DatasetInfo(
        name="spa-eng",
        title="Anki / Tatoeba English-Spanish sentence pairs (the TensorFlow NMT tutorial file)",
        task="translation",
        splits={"pairs": 118964},
        size="8.0 MB (spa.txt)",
        license="CC-BY 2.0 (France); attribution: www.manythings.org/anki and tatoeba.org.",
        citation="Tatoeba Project (tatoeba.org); pairs compiled by manythings.org/anki.",
        homepage="https://www.manythings.org/anki/",
        folder="anki-spa-eng",
        layouts=(("spa.txt",),),
        checksums={"spa.txt": "6ec60e212f812ee3430f7568ea6f33b6fb080e32193c5952e8da0ee8ba45574c"},
        sources=(
            Source(
                url="https://storage.googleapis.com/download.tensorflow.org/data/spa-eng.zip",
                sha256="f80e581ae291aa34dd3aba7bd98b5e9505234da4318e2f3295df70a1520c7f61",
                members={"spa-eng/spa.txt": "spa.txt"},
            ),
        ),
    )
)


# === Lookup ===


def list_datasets():
    """The registered dataset names."""
    return sorted(_REGISTRY)


def info(name):
    """The `DatasetInfo` of a registered dataset."""
    if name not in _REGISTRY:
        raise ValueError(f"Unknown dataset {name!r}. Expected one of {list_datasets()}.")
    return _REGISTRY[name]


def cache_dir():
    """The user cache for downloaded datasets."""
    if os.environ.get(ENV_CACHE_DIR):
        return Path(os.environ[ENV_CACHE_DIR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "seqkit" / "datasets"


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _complete_layout(dataset, folder):
    for layout in dataset.layouts:
        if all((folder / name).is_file() for name in layout):
            return layout
    return None


def _mismatches(dataset, folder, layout):
    bad = []
    for name in layout:
        expected = dataset.checksums.get(name)
        if expected and sha256_of(folder / name) != expected:
            bad.append(name)
    return bad


def locate(name, data_dir=None, download=True, verify=True):
    """Returns the folder that holds a verified copy of dataset `name`.

    Args:
        name: a registered dataset name (see `list_datasets()`).
        data_dir: a folder to use first. It may be the dataset folder itself or a
            parent holding `<folder>` or `<name>`.
        download: fetch from the canonical URL when no copy is found.
        verify: check SHA-256 checksums of known files.
    """
    dataset = info(name)
    candidates = []
    if data_dir is not None:
        data_dir = Path(os.fspath(data_dir)).expanduser()
        candidates += [("data_dir", data_dir), ("data_dir", data_dir / dataset.folder), ("data_dir", data_dir / name)]
    if os.environ.get(ENV_DATA_DIR):
        root = Path(os.environ[ENV_DATA_DIR]).expanduser()
        candidates += [(ENV_DATA_DIR, root / dataset.folder), (ENV_DATA_DIR, root / name)]
    cached = cache_dir() / name
    candidates.append(("cache", cached))

    for origin, folder in candidates:
        layout = _complete_layout(dataset, folder)
        if layout is None:
            continue
        bad = _mismatches(dataset, folder, layout) if verify else []
        if not bad:
            return folder
        if origin != "cache":
            raise DataError(
                f"Checksum mismatch for {[str(folder / file) for file in bad]} (dataset {name!r}, found "
                f"through {origin}). The files differ from the published ones; replace them, or pass "
                "verify=False to use them anyway."
            )
        warnings.warn(f"Cached copy of {name!r} is corrupted ({bad}); downloading it again.", stacklevel=2)
        shutil.rmtree(cached, ignore_errors=True)
    if data_dir is not None and not download:
        raise DataError(f"Dataset {name!r} not found under {data_dir} (expected one of {dataset.layouts}).")
    if not download:
        raise DataError(
            f"Dataset {name!r} not found in ${ENV_DATA_DIR} or {cached}, and download=False. "
            f"Set {ENV_DATA_DIR} to the folder holding {dataset.folder!r}."
        )
    return _download(dataset, cached, verify=verify)


def _fetch(url, destination):
    request = urllib.request.Request(url, headers={"User-Agent": "seqkit"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response, open(destination, "wb") as file:
            shutil.copyfileobj(response, file)
    except OSError as error:
        raise DataError(
            f"Could not download {url} ({error}). Download it by hand and pass data_dir=..., or set "
            f"{ENV_DATA_DIR}."
        ) from None


def _download(dataset, target, verify=True):
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dataset.name}.", dir=target.parent))
    try:
        for source in dataset.sources:
            print(f"seqkit: downloading {dataset.name} from {source.url}")
            fetched = staging / ".download"
            _fetch(source.url, fetched)
            if verify and source.sha256 and sha256_of(fetched) != source.sha256:
                raise DataError(
                    f"Checksum mismatch after downloading {source.url}: expected {source.sha256}, got "
                    f"{sha256_of(fetched)}. Nothing was kept."
                )
            if source.members:
                _extract_members(fetched, source.members, staging, source.url)
                fetched.unlink()
            else:
                fetched.rename(staging / source.filename)
        layout = _complete_layout(dataset, staging)
        bad = _mismatches(dataset, staging, layout) if (verify and layout) else []
        if layout is None or bad:
            raise DataError(f"Download of {dataset.name!r} is incomplete or corrupted ({bad}). Nothing was kept.")
        shutil.rmtree(target, ignore_errors=True)
        os.rename(staging, target)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _extract_members(archive_path, members, destination, url):
    data = archive_path.read_bytes()
    found = {}
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member, filename in members.items():
                if member in archive.namelist():
                    found[filename] = archive.read(member)
    else:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            for member, filename in members.items():
                try:
                    found[filename] = archive.extractfile(member).read()
                except KeyError:
                    pass
    missing = sorted(set(members.values()) - set(found))
    if missing:
        raise DataError(f"The archive from {url} lacks {missing}.")
    for filename, content in found.items():
        (destination / filename).write_bytes(content)


# === Loaders ===


def files(name, data_dir=None, download=True):
    """Paths of a dataset's files, by the names its layout uses (e.g. `{"eng.train": Path}`)."""
    folder = locate(name, data_dir=data_dir, download=download)
    layout = _complete_layout(info(name), folder)
    return {file: folder / file for file in layout}


def load_mr(data_dir=None, download=True):
    """MR sentences: `{"all": (texts, labels)}`, labels "neg"/"pos". Use 10-fold CV (`splits.kfold`)."""
    folder = locate("mr", data_dir=data_dir, download=download)
    return {"all": readers.read_mr(folder)}


def load_imdb(data_dir=None, download=True):
    """IMDB reviews: `{"train": (texts, labels), "test": (texts, labels)}`, labels "neg"/"pos".

    `data_dir` may also be an extracted `aclImdb` folder (with `train/` and `test/`).
    """
    if data_dir is not None:
        extracted = Path(os.fspath(data_dir)).expanduser()
        for root in (extracted, extracted / "aclImdb"):
            if (root / "train" / "pos").is_dir() and (root / "test" / "pos").is_dir():
                return {
                    split: readers.read_class_folders(root / split, classes=["neg", "pos"])
                    for split in ("train", "test")
                }
    paths = files("imdb", data_dir=data_dir, download=download)
    return readers.read_imdb_archive(next(iter(paths.values())))


def load_conll2003(data_dir=None, download=True, scheme="bio"):
    """CoNLL-2003 English NER: `{"train"|"dev"|"test": (sentences, tags)}` (eng.train/testa/testb).

    The files are IOB1; tags are converted to `scheme` ("bio" or "bioes"), or
    returned as written (IOB1) with `scheme=None`. Tokens are the first column.
    """
    from seqkit.data.conll import read_conll

    paths = files("conll2003", data_dir=data_dir, download=download)
    source = None if scheme is None else "iob1"
    return {
        split: read_conll(paths[name], scheme=source, target_scheme=scheme or "bio")
        for split, name in (("train", "eng.train"), ("dev", "eng.testa"), ("test", "eng.testb"))
    }


def load_conll2002_es(data_dir=None, download=True, scheme="bio"):
    """CoNLL-2002 Spanish NER: `{"train"|"dev"|"test": (sentences, tags)}` (esp.train/testa/testb).

    The files are BIO and are checked as such (a malformed sequence is a
    `DataError`); tags are converted to `scheme` ("bio" or "bioes"), or
    returned unchecked as written with `scheme=None`.
    """
    from seqkit.data.conll import read_conll

    paths = files("conll2002-es", data_dir=data_dir, download=download)
    source = None if scheme is None else "bio"
    return {
        split: read_conll(paths[name], scheme=source, target_scheme=scheme or "bio")
        for split, name in (("train", "esp.train"), ("dev", "esp.testa"), ("test", "esp.testb"))
    }


def load_tinyshakespeare(data_dir=None, download=True):
    """Tiny Shakespeare as one string (1,115,394 characters). Split it with `splits.contiguous_split`."""
    paths = files("tinyshakespeare", data_dir=data_dir, download=download)
    return readers.read_text(paths["input.txt"])
