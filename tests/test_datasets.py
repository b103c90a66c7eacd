"""The dataset registry: info, lookup order, checksum verification, and (faked) downloads."""

import dataclasses
import io
import re
import shutil
import tarfile
import zipfile

import pytest

import seqkit
from seqkit.data import DataError, datasets

NAMES = ["conll2002-es", "conll2003", "imdb", "mr", "spa-eng", "tinyshakespeare"]
SHAKESPEARE_URL = datasets.info("tinyshakespeare").sources[0].url


@pytest.fixture
def cache(monkeypatch, tmp_path):
    """An empty cache and no $SEQKIT_DATA_DIR: only the cache and downloads can be used."""
    monkeypatch.delenv(datasets.ENV_DATA_DIR, raising=False)
    monkeypatch.setenv(datasets.ENV_CACHE_DIR, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def fetches(monkeypatch):
    """Replaces the network: `serve[url] = path` makes `_fetch(url)` copy that file."""
    calls, serve = [], {}

    def fake_fetch(url, destination):
        calls.append(url)
        if url not in serve:
            raise AssertionError(f"unexpected download of {url}")
        shutil.copyfile(serve[url], destination)

    monkeypatch.setattr(datasets, "_fetch", fake_fetch)
    return calls, serve


def copy_shakespeare(shared_data, folder):
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shared_data / "tinyshakespeare" / "input.txt", folder / "input.txt")
    return folder


def corrupt(path):
    path.write_bytes(path.read_bytes()[:-10] + b"corrupted!")


# === Registry ===


def test_registry_lists_every_dataset():
    assert datasets.list_datasets() == NAMES


def test_datasets_module_is_exposed_at_top_level():
    assert seqkit.datasets is datasets


@pytest.mark.parametrize(
    "name, splits",
    [
        ("mr", {"all": 10_662}),
        ("imdb", {"train": 25_000, "test": 25_000}),
        ("conll2003", {"train": 14_041, "dev": 3_250, "test": 3_453}),
        ("conll2002-es", {"train": 8_323, "dev": 1_915, "test": 1_517}),
        ("tinyshakespeare", {"characters": 1_115_394}),
        ("spa-eng", {"pairs": 118_964}),
    ],
)
def test_info_describes_each_dataset(name, splits):
    info = datasets.info(name)
    assert info.name == name
    assert info.splits == splits
    for field in ("title", "license", "citation", "size", "homepage", "folder"):
        assert getattr(info, field).strip(), field
    for layout in info.layouts:
        assert set(layout) <= set(info.checksums)
    assert all(re.fullmatch(r"[0-9a-f]{64}", digest) for digest in info.checksums.values())
    assert info.sources and all(source.url.startswith("https://") for source in info.sources)


@pytest.mark.parametrize("name", ["MR", "imdb-aclImdb", "", "squad"])
def test_unknown_dataset_is_a_value_error(name):
    with pytest.raises(ValueError, match="Unknown dataset"):
        datasets.info(name)
    with pytest.raises(ValueError, match="Unknown dataset"):
        datasets.locate(name, download=False)


# === Lookup order and verification ===


@pytest.mark.parametrize("name", NAMES)
def test_shared_copies_are_found_and_verified(shared_data, monkeypatch, name):
    monkeypatch.setenv(datasets.ENV_DATA_DIR, str(shared_data))
    folder = datasets.locate(name, download=False)
    assert folder == shared_data / datasets.info(name).folder


def test_explicit_data_dir_beats_environment_beats_cache(shared_data, cache, monkeypatch, tmp_path, fetches):
    explicit = copy_shakespeare(shared_data, tmp_path / "explicit")
    environment = copy_shakespeare(shared_data, tmp_path / "env" / "tinyshakespeare")
    cached = copy_shakespeare(shared_data, cache / "tinyshakespeare")
    monkeypatch.setenv(datasets.ENV_DATA_DIR, str(tmp_path / "env"))

    assert datasets.locate("tinyshakespeare", data_dir=explicit) == explicit
    assert datasets.locate("tinyshakespeare") == environment
    monkeypatch.delenv(datasets.ENV_DATA_DIR)
    assert datasets.locate("tinyshakespeare") == cached
    assert fetches[0] == []


def test_data_dir_may_be_a_parent_folder_by_folder_or_registry_name(shared_data, cache, tmp_path):
    for sub in ("mr-rt-polarity", "mr"):
        parent = tmp_path / f"parent-{sub}"
        (parent / sub).mkdir(parents=True)
        for file in ("rt-polarity.pos", "rt-polarity.neg"):
            shutil.copyfile(shared_data / "mr-rt-polarity" / file, parent / sub / file)
        assert datasets.locate("mr", data_dir=parent, download=False) == parent / sub


def test_environment_folder_may_use_the_registry_name(shared_data, cache, monkeypatch, tmp_path):
    folder = tmp_path / "env" / "mr"  # The registry name, not the shared folder name "mr-rt-polarity".
    folder.mkdir(parents=True)
    for file in ("rt-polarity.pos", "rt-polarity.neg"):
        shutil.copyfile(shared_data / "mr-rt-polarity" / file, folder / file)
    monkeypatch.setenv(datasets.ENV_DATA_DIR, str(tmp_path / "env"))
    assert datasets.files("mr", download=False) == {
        "rt-polarity.pos": folder / "rt-polarity.pos",
        "rt-polarity.neg": folder / "rt-polarity.neg",
    }


def test_checksum_mismatch_in_data_dir_env_names_the_file(shared_data, cache, monkeypatch, tmp_path, fetches):
    folder = copy_shakespeare(shared_data, tmp_path / "env" / "tinyshakespeare")
    corrupt(folder / "input.txt")
    monkeypatch.setenv(datasets.ENV_DATA_DIR, str(tmp_path / "env"))
    with pytest.raises(DataError, match=re.escape(str(folder / "input.txt")) + ".*SEQKIT_DATA_DIR.*verify=False"):
        datasets.locate("tinyshakespeare")
    assert fetches[0] == []  # A bad user copy is an error, not a reason to download.


def test_verify_false_accepts_a_modified_file(shared_data, cache, monkeypatch, tmp_path):
    folder = copy_shakespeare(shared_data, tmp_path / "env" / "tinyshakespeare")
    corrupt(folder / "input.txt")
    monkeypatch.setenv(datasets.ENV_DATA_DIR, str(tmp_path / "env"))
    assert datasets.locate("tinyshakespeare", verify=False) == folder


def test_checksum_mismatch_in_explicit_data_dir_is_a_data_error(shared_data, cache, tmp_path):
    folder = copy_shakespeare(shared_data, tmp_path / "mine")
    corrupt(folder / "input.txt")
    with pytest.raises(DataError, match=re.escape(str(folder / "input.txt")) + ".*data_dir"):
        datasets.locate("tinyshakespeare", data_dir=folder)


def test_incomplete_folder_is_skipped(shared_data, cache, monkeypatch, tmp_path):
    folder = tmp_path / "env" / "mr-rt-polarity"
    folder.mkdir(parents=True)
    shutil.copyfile(shared_data / "mr-rt-polarity" / "rt-polarity.pos", folder / "rt-polarity.pos")  # No .neg.
    monkeypatch.setenv(datasets.ENV_DATA_DIR, str(tmp_path / "env"))
    with pytest.raises(DataError, match="not found.*download=False"):
        datasets.locate("mr", download=False)


def test_not_found_without_download_names_the_data_dir(cache, tmp_path):
    with pytest.raises(DataError, match=re.escape(str(tmp_path / "empty"))):
        datasets.locate("mr", data_dir=tmp_path / "empty", download=False)


# === Downloads (the network is replaced by local copies) ===


def test_download_into_an_empty_cache_is_verified_and_reused(shared_data, cache, fetches):
    calls, serve = fetches
    serve[SHAKESPEARE_URL] = shared_data / "tinyshakespeare" / "input.txt"
    folder = datasets.locate("tinyshakespeare")
    assert folder == cache / "tinyshakespeare"
    assert datasets.sha256_of(folder / "input.txt") == datasets.info("tinyshakespeare").checksums["input.txt"]
    assert sorted(path.name for path in folder.iterdir()) == ["input.txt"]
    assert datasets.locate("tinyshakespeare") == folder
    assert calls == [SHAKESPEARE_URL]  # The second call used the cache.


def test_corrupted_cache_is_detected_and_fetched_again(shared_data, cache, fetches):
    calls, serve = fetches
    serve[SHAKESPEARE_URL] = shared_data / "tinyshakespeare" / "input.txt"
    folder = copy_shakespeare(shared_data, cache / "tinyshakespeare")
    corrupt(folder / "input.txt")
    with pytest.warns(UserWarning, match="corrupted"):
        assert datasets.locate("tinyshakespeare") == folder
    assert calls == [SHAKESPEARE_URL]
    assert datasets.sha256_of(folder / "input.txt") == datasets.info("tinyshakespeare").checksums["input.txt"]


def test_checksum_mismatch_after_download_keeps_nothing(shared_data, cache, fetches, tmp_path):
    calls, serve = fetches
    bad = copy_shakespeare(shared_data, tmp_path / "bad") / "input.txt"
    corrupt(bad)
    serve[SHAKESPEARE_URL] = bad
    with pytest.raises(DataError, match=re.escape(f"Checksum mismatch after downloading {SHAKESPEARE_URL}")):
        datasets.locate("tinyshakespeare")
    assert calls == [SHAKESPEARE_URL]
    assert not (cache / "tinyshakespeare").exists()
    assert list(cache.iterdir()) == []  # No staging folder left behind either.


def test_download_failure_is_a_data_error(cache, monkeypatch):
    def unreachable(url, destination):
        raise DataError(f"Could not download {url} (offline).")

    monkeypatch.setattr(datasets, "_fetch", unreachable)
    with pytest.raises(DataError, match="Could not download"):
        datasets.locate("tinyshakespeare")
    assert list(cache.iterdir()) == []


def make_tar_gz(path, members):
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture(scope="module")
def mr_bytes(shared_data):
    return {label: (shared_data / "mr-rt-polarity" / f"rt-polarity.{label}").read_bytes() for label in ("pos", "neg")}


def test_members_are_extracted_from_a_tar_gz(cache, fetches, tmp_path, mr_bytes):
    calls, serve = fetches
    url = datasets.info("mr").sources[0].url
    serve[url] = make_tar_gz(
        tmp_path / "rt-polaritydata.tar.gz",
        {
            "rt-polaritydata/rt-polarity.pos": mr_bytes["pos"],
            "rt-polaritydata/rt-polarity.neg": mr_bytes["neg"],
            "rt-polaritydata/README.txt": b"readme",
        },
    )
    texts, labels = datasets.load_mr()["all"]
    assert calls == [url]
    assert sorted(path.name for path in (cache / "mr").iterdir()) == ["rt-polarity.neg", "rt-polarity.pos"]
    assert len(texts) == 10_662 and labels.count("pos") == 5_331


def test_tar_gz_with_a_modified_member_keeps_nothing(cache, fetches, tmp_path, mr_bytes):
    _, serve = fetches
    serve[datasets.info("mr").sources[0].url] = make_tar_gz(
        tmp_path / "rt-polaritydata.tar.gz",
        {"rt-polaritydata/rt-polarity.pos": mr_bytes["pos"], "rt-polaritydata/rt-polarity.neg": b"tampered\n"},
    )
    with pytest.raises(DataError, match=r"corrupted \(\['rt-polarity.neg'\]\)"):
        datasets.locate("mr")
    assert list(cache.iterdir()) == []


def test_tar_gz_missing_a_member_is_a_data_error(cache, fetches, tmp_path, mr_bytes):
    _, serve = fetches
    url = datasets.info("mr").sources[0].url
    serve[url] = make_tar_gz(tmp_path / "partial.tar.gz", {"rt-polaritydata/rt-polarity.pos": mr_bytes["pos"]})
    with pytest.raises(DataError, match=re.escape(f"The archive from {url} lacks ['rt-polarity.neg']")):
        datasets.locate("mr")
    assert list(cache.iterdir()) == []


@pytest.fixture(scope="module")
def spa_zip(shared_data, tmp_path_factory):
    path = tmp_path_factory.mktemp("zip") / "spa-eng.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.write(shared_data / "anki-spa-eng" / "spa.txt", "spa-eng/spa.txt")
        archive.write(shared_data / "anki-spa-eng" / "_about.txt", "spa-eng/_about.txt")
    return path


def test_pinned_zip_checksum_rejects_a_different_archive(cache, fetches, spa_zip):
    _, serve = fetches
    url = datasets.info("spa-eng").sources[0].url
    serve[url] = spa_zip  # Same spa.txt, but not the published zip file.
    with pytest.raises(DataError, match=re.escape(f"Checksum mismatch after downloading {url}")):
        datasets.locate("spa-eng")
    assert list(cache.iterdir()) == []


def test_members_are_extracted_from_a_zip(cache, fetches, spa_zip, monkeypatch):
    _, serve = fetches
    info = datasets.info("spa-eng")
    source = dataclasses.replace(info.sources[0], sha256=datasets.sha256_of(spa_zip))
    monkeypatch.setitem(datasets._REGISTRY, "spa-eng", dataclasses.replace(info, sources=(source,)))
    serve[source.url] = spa_zip
    folder = datasets.locate("spa-eng")
    assert sorted(path.name for path in folder.iterdir()) == ["spa.txt"]
    assert datasets.sha256_of(folder / "spa.txt") == info.checksums["spa.txt"]


def test_extract_members_reports_missing_zip_members(tmp_path):
    archive_path = tmp_path / "small.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        archive.writestr("spa-eng/spa.txt", "Go.\tVe.\n")
        archive.writestr("spa-eng/_about.txt", "about")
    datasets._extract_members(archive_path, {"spa-eng/spa.txt": "spa.txt"}, tmp_path, "https://example.org/x.zip")
    assert (tmp_path / "spa.txt").read_text(encoding="utf-8") == "Go.\tVe.\n"
    with pytest.raises(DataError, match=re.escape("https://example.org/x.zip lacks ['eng.txt']")):
        datasets._extract_members(archive_path, {"spa-eng/eng.txt": "eng.txt"}, tmp_path, "https://example.org/x.zip")


# === Loaders on the real data ===


def test_load_mr_through_the_environment(shared_data, monkeypatch):
    monkeypatch.setenv(datasets.ENV_DATA_DIR, str(shared_data))
    texts, labels = datasets.load_mr(download=False)["all"]
    assert len(texts) == 10_662
    assert labels.count("neg") == labels.count("pos") == 5_331


def test_load_imdb_through_the_environment(shared_data, monkeypatch):
    monkeypatch.setenv(datasets.ENV_DATA_DIR, str(shared_data))
    loaded = datasets.load_imdb(download=False)  # Streams the tarball (a few seconds).
    assert {split: (len(texts), labels.count("pos")) for split, (texts, labels) in loaded.items()} == {
        "train": (25_000, 12_500),
        "test": (25_000, 12_500),
    }


def test_load_imdb_from_an_extracted_folder(tmp_path):
    for split in ("train", "test"):
        for label in ("neg", "pos"):
            folder = tmp_path / "aclImdb" / split / label
            folder.mkdir(parents=True)
            (folder / "0_5.txt").write_text(f"{split} {label}", encoding="utf-8")
    loaded = datasets.load_imdb(data_dir=tmp_path, download=False)
    assert loaded["test"] == (["test neg", "test pos"], ["neg", "pos"])
