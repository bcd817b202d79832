"""Uploads: chunks at offsets, resume, commit checks, cancel, streaming, concurrency."""

from __future__ import annotations

import hashlib
import io
import itertools
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.pausing import InThread, PausingDriver

from distribution_storage import open_driver
from distribution_storage.driver.contract import FileWriter, StorageDriver
from distribution_storage.driver.delegating import DelegatingDriver
from distribution_storage.driver.errors import StorageDriverError
from distribution_storage.layout import (
    Digest,
    blob_data_path,
    layer_link_path,
    upload_data_path,
    upload_dir,
    upload_started_at_path,
)
from distribution_storage.registry import (
    BlobSizeMismatchError,
    BlobUploadInvalidError,
    BlobUploadUnknownError,
    DigestMismatchError,
    Registry,
    UploadIdInvalidError,
    UploadOffsetError,
)
from distribution_storage.registry.uploads import parse_started_at


def test_chunked_upload_with_offsets_commits(registry: Registry, driver: StorageDriver) -> None:
    repo = registry.repository("app")
    data = b"0123456789" * 1000
    upload = repo.uploads.create()
    assert upload.write(data[:3000], offset=0) == 3000
    assert upload.write(data[3000:7000], offset=3000) == 7000
    assert upload.write(data[7000:]) == len(data)
    descriptor = upload.commit(Digest.of(data), size=len(data))
    assert descriptor.size == len(data)
    assert driver.get_content(blob_data_path(descriptor.digest)) == data
    with pytest.raises(FileNotFoundError):
        driver.stat(upload_dir("app", upload.id))


def test_startedat_is_rfc3339_utc(registry: Registry, driver: StorageDriver) -> None:
    with registry.repository("app").uploads.create() as upload:
        pass
    text = driver.get_content(upload_started_at_path("app", upload.id)).decode()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text)
    assert parse_started_at(text) == upload.started_at


def test_parse_started_at_reads_go_timestamps() -> None:
    moment = parse_started_at("2024-01-02T03:04:05.123456789+01:00")
    assert moment.isoformat() == "2024-01-02T03:04:05.123456+01:00"


def test_chunk_at_wrong_offset_is_rejected(registry: Registry) -> None:
    upload = registry.repository("app").uploads.create()
    upload.write(b"abc")
    with pytest.raises(UploadOffsetError) as info:
        upload.write(b"def", offset=2)
    assert info.value.expected == 3
    assert info.value.http_status == 416
    assert upload.offset == 3


def test_resume_in_the_same_instance_keeps_the_live_hash(registry: Registry) -> None:
    repo = registry.repository("app")
    with repo.uploads.create() as upload:
        upload.write(b"first ")
    resumed = repo.uploads.resume(upload.id)
    assert resumed._hasher is not None
    assert resumed.offset == 6
    resumed.write(b"second", offset=6)
    assert resumed.commit(Digest.of(b"first second")).size == 12


def test_resume_from_another_instance_rehashes_stored_data(tmp_path: object) -> None:
    root = str(tmp_path)
    first = Registry(open_driver("filesystem", rootdirectory=root))
    with first.repository("app").uploads.create() as upload:
        upload.write(b"x" * 5000)
    second = Registry(open_driver("filesystem", rootdirectory=root))
    resumed = second.repository("app").uploads.resume(upload.id)
    assert resumed._hasher is None
    assert resumed.offset == 5000
    resumed.write(b"y" * 10, offset=5000)
    digest = Digest.of(b"x" * 5000 + b"y" * 10)
    assert resumed.commit(digest).digest == digest
    assert second.repository("app").blobs.stat(digest).size == 5010


def test_wrong_digest_links_nothing_and_removes_the_upload(
    registry: Registry, driver: StorageDriver
) -> None:
    repo = registry.repository("app")
    upload = repo.uploads.create()
    upload.write(b"actual content")
    claimed = Digest.of(b"something else")
    with pytest.raises(DigestMismatchError) as info:
        upload.commit(claimed)
    assert isinstance(info.value, ValueError)
    assert info.value.actual == Digest.of(b"actual content")
    assert not repo.blobs.exists(claimed)
    assert not registry.blobs.exists(claimed)
    assert not registry.blobs.exists(Digest.of(b"actual content"))
    with pytest.raises(BlobUploadUnknownError):
        repo.uploads.resume(upload.id)


def test_wrong_size_links_nothing(registry: Registry) -> None:
    repo = registry.repository("app")
    upload = repo.uploads.create()
    upload.write(b"12345")
    with pytest.raises(BlobSizeMismatchError):
        upload.commit(Digest.of(b"12345"), size=6)
    assert not registry.blobs.exists(Digest.of(b"12345"))


def test_truncated_stream_keeps_what_arrived_and_raises(registry: Registry) -> None:
    repo = registry.repository("app")
    upload = repo.uploads.create()
    with pytest.raises(BlobUploadInvalidError, match="short"):
        upload.write_from(io.BytesIO(b"only ten b"), length=100)
    assert upload.offset == 10
    upload.close()
    resumed = repo.uploads.resume(upload.id)
    assert resumed.offset == 10
    with pytest.raises(DigestMismatchError):
        resumed.commit(Digest.of(b"only ten b" + b"x" * 90))


def test_truncated_upload_cannot_commit_under_the_full_digest(registry: Registry) -> None:
    full = b"z" * 4096
    upload = registry.repository("app").uploads.create()
    upload.write(full[:4000])
    with pytest.raises(DigestMismatchError):
        upload.commit(Digest.of(full), size=None)
    assert not registry.blobs.exists(Digest.of(full))


@pytest.mark.parametrize("upload_id", ["7a0b9d1e-0000-4000-8000-000000000000", "nope"])
def test_unknown_upload_id_is_typed(registry: Registry, upload_id: str) -> None:
    with pytest.raises(BlobUploadUnknownError) as info:
        registry.repository("app").uploads.resume(upload_id)
    assert isinstance(info.value, FileNotFoundError)
    assert info.value.code == "BLOB_UPLOAD_UNKNOWN"


def test_malformed_upload_id_is_rejected(registry: Registry) -> None:
    with pytest.raises(UploadIdInvalidError):
        registry.repository("app").uploads.resume("../../blobs")


def test_cancel_removes_the_upload(registry: Registry, driver: StorageDriver) -> None:
    repo = registry.repository("app")
    with repo.uploads.create() as upload:
        upload.write(b"abandon")
    repo.uploads.cancel(upload.id)
    with pytest.raises(FileNotFoundError):
        driver.stat(upload_data_path("app", upload.id))
    with pytest.raises(BlobUploadUnknownError):
        repo.uploads.cancel(upload.id)


def test_finished_upload_refuses_more_data(registry: Registry) -> None:
    upload = registry.repository("app").uploads.create()
    upload.write(b"x")
    upload.commit(Digest.of(b"x"))
    with pytest.raises(BlobUploadInvalidError):
        upload.write(b"y")


def test_empty_blob_commits(registry: Registry) -> None:
    repo = registry.repository("app")
    descriptor = repo.uploads.create().commit(Digest.of(b""), size=0)
    assert repo.blobs.stat(descriptor.digest).size == 0
    with repo.blobs.open(descriptor.digest) as stream:
        assert stream.read() == b""


def test_sha512_digest_is_verified_by_rehashing(registry: Registry) -> None:
    repo = registry.repository("app")
    upload = repo.uploads.create()
    upload.write(b"five hundred twelve")
    digest = Digest.of(b"five hundred twelve", "sha512")
    assert upload.commit(digest).digest == digest
    assert repo.blobs.stat(digest).size == 19


# Where the first upload of a blob is held while a second one of the same blob runs whole:
# before it checks whether the blob is stored, before it moves its data into place, and
# before it writes its layer link.
COMMIT_STEPS = {
    "stat": lambda path: path.endswith("/data") and "/_uploads/" not in path,
    "move": lambda path: "/_uploads/" in path,
    "put_content": lambda path: "/_layers/" in path,
}


@pytest.mark.parametrize("step", list(COMMIT_STEPS))
@pytest.mark.parametrize("second", ["repo0", "repo1"])
def test_an_upload_of_the_same_blob_overtaking_another_ends_consistent(
    registry: Registry, driver: StorageDriver, step: str, second: str
) -> None:
    data = b"same content " * 5000
    digest = Digest.of(data)

    def push(registry: Registry, name: str) -> None:
        with registry.repository(name).uploads.create() as upload:
            for start in range(0, len(data), 7000):
                upload.write(data[start : start + 7000])
            upload.commit(digest, size=len(data))

    with PausingDriver(driver) as pausing:
        held = pausing.pause(step, where=COMMIT_STEPS[step], name=f"the first commit's {step}")
        first = InThread(lambda: push(Registry(pausing), "repo0"), name="the first upload")
        held.wait_until_reached(caller=first)
        push(registry, second)
        held.release()
        first.result()
    assert driver.get_content(blob_data_path(digest)) == data
    for name in {"repo0", second}:
        assert driver.get_content(layer_link_path(name, digest)) == str(digest).encode()
    assert [b.digest for b in registry.blobs] == [digest]
    assert [
        info.path for info in driver.walk() if "/_uploads/" in info.path and not info.is_dir
    ] == []


class _Generated(io.RawIOBase):
    """A stream of ``size`` patterned bytes that never holds more than one chunk."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.block = bytes(range(251)) * 4200

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left, len(self.block))
        self.left -= n
        return self.block[:n]


def test_upload_streams_in_bounded_memory(tmp_path: object) -> None:
    registry = Registry(open_driver("filesystem", rootdirectory=str(tmp_path)))
    size = 48 * 1024 * 1024
    hasher = hashlib.sha256()
    source = _Generated(size)
    while chunk := source.read(1 << 20):
        hasher.update(chunk)
    expected = Digest.from_hash(hasher)
    upload = registry.repository("big").uploads.create()
    tracemalloc.start()
    try:
        upload.write_from(_Generated(size), length=size)  # type: ignore[arg-type]
        descriptor = upload.commit(expected, size=size)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert descriptor.size == size
    assert peak < 12 * 1024 * 1024, f"peak {peak} bytes for a {size}-byte blob"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(min_size=0, max_size=3000),
    cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=5),
    reopen=st.booleans(),
)
def test_any_chunking_and_resuming_yields_the_same_blob(
    data: bytes, cuts: list[int], reopen: bool
) -> None:
    registry = Registry(open_driver("inmemory"))
    repo = registry.repository("prop")
    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    upload = repo.uploads.create()
    for start, end in itertools.pairwise(bounds):
        upload.write(data[start:end], offset=start)
        if reopen:
            upload.close()
            upload = Registry(registry.driver).repository("prop").uploads.resume(upload.id)
    digest = upload.commit(Digest.of(data), size=len(data)).digest
    with repo.blobs.open(digest) as stream:
        assert stream.read() == data


def test_resume_in_another_process(tmp_path: Path) -> None:
    root = str(tmp_path / "store")
    script = (
        "import sys\n"
        "from distribution_storage import open_driver\n"
        "from distribution_storage.registry import Registry\n"
        "registry = Registry(open_driver('filesystem', rootdirectory=sys.argv[1]))\n"
        "with registry.repository('app').uploads.create() as upload:\n"
        "    upload.write(b'written by the first process; ')\n"
        "print(upload.id)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, root], capture_output=True, text=True, check=True
    )
    upload_id = result.stdout.strip()
    registry = Registry(open_driver("filesystem", rootdirectory=root))
    with registry.repository("app").uploads.resume(upload_id) as upload:
        assert upload.offset == 30
        upload.write(b"finished by the second", offset=30)
        data = b"written by the first process; finished by the second"
        assert upload.commit(Digest.of(data), size=len(data)).digest == Digest.of(data)
    with registry.repository("app").blobs.open(Digest.of(data)) as stream:
        assert stream.read() == data


class _FailingWriteDriver(DelegatingDriver):
    """A real driver whose upload writers store half of one chunk, then fail."""

    def writer(self, path: str, *, append: bool = False) -> FileWriter:
        return _HalfWriter(self.inner.writer(path, append=append))


class _HalfWriter(FileWriter):
    def __init__(self, inner: FileWriter) -> None:
        super().__init__(inner.path)
        self.inner = inner

    @property
    def size(self) -> int:
        return self.inner.size

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        if len(data) > 100:
            self.inner.write(data[: len(data) // 2])
            raise OSError("connection reset")
        self.inner.write(data)

    def _close(self) -> None:
        self.inner.close()

    def _commit(self) -> None:
        self.inner.commit()

    def _cancel(self) -> None:
        self.inner.cancel()


def test_failed_write_falls_back_to_rehashing(driver: StorageDriver) -> None:
    registry = Registry(_FailingWriteDriver(driver))
    repo = registry.repository("app")
    upload = repo.uploads.create()
    upload.write(b"small")
    with pytest.raises(StorageDriverError):
        upload.write(b"x" * 200)
    assert upload.offset == 105
    upload.close()
    resumed = repo.uploads.resume(upload.id)
    stored = b"small" + b"x" * 100
    assert resumed.commit(Digest.of(stored), size=len(stored)).size == 105
