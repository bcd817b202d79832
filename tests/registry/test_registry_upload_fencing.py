"""Two sessions on one upload: once it was committed, cancelled or purged, a session still
holding it can change nothing the store serves (issue 20), on every driver.

The sessions are interleaved by sequencing their calls in one thread, so each case pins one
order of events. Every driver is reached through its real server (see ``support.backends``).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from support.backends import DRIVERS

from distribution_storage.driver import StorageDriver
from distribution_storage.driver.errors import PathNotFoundError, StorageDriverError
from distribution_storage.layout import (
    BLOBS_ROOT,
    Digest,
    blob_data_path,
    upload_data_path,
    upload_dir,
)
from distribution_storage.registry import BlobUploadUnknownError, Registry, Repository

KiB = 1024


@pytest.fixture(params=DRIVERS)
def driver(
    request: pytest.FixtureRequest, open_backend: Callable[[str], StorageDriver]
) -> Iterator[StorageDriver]:
    """A fresh store on each of the seven drivers."""
    store = open_backend(request.param)
    yield store
    store.close()


@pytest.fixture
def registry(driver: StorageDriver) -> Registry:
    """A registry over the store."""
    return Registry(driver)


def _started(repo: Repository, data: bytes) -> str:
    """An upload holding ``data``, closed so that other sessions resume it; its id."""
    with repo.uploads.create() as session:
        session.write(data)
    return session.id


def _blobs(driver: StorageDriver) -> dict[str, bytes]:
    """Every file below the blob store, with its content."""
    try:
        infos = list(driver.walk(BLOBS_ROOT))
    except PathNotFoundError:
        return {}
    return {info.path: driver.get_content(info.path) for info in infos if not info.is_dir}


def _assert_served_intact(registry: Registry, driver: StorageDriver, data: bytes) -> None:
    """A second repository pushing ``data`` (answered "already stored" if it is) is served
    exactly ``data``, and the blob store holds exactly that under its digest."""
    digest = Digest.of(data)
    other = registry.repository("second")
    with other.uploads.create() as session:
        session.write(data)
        assert session.commit(digest).size == len(data)
    with other.blobs.open(digest) as stream:
        assert stream.read() == data
    assert driver.get_content(blob_data_path(digest)) == data


def _ends(ending: str) -> Callable[[Repository, object], None]:
    def close(repo: Repository, session: object) -> None:
        session.close()  # type: ignore[attr-defined]

    def commit(repo: Repository, session: object) -> None:
        session.commit(Digest.of(b"anything"))  # type: ignore[attr-defined]

    return close if ending == "close" else commit


@pytest.mark.parametrize("ending", ["close", "commit"])
def test_a_session_held_across_a_commit_changes_nothing(
    registry: Registry, driver: StorageDriver, ending: str
) -> None:
    """A commits while B holds the upload open with bytes of its own: B's later write and
    close (or commit) raise BlobUploadUnknownError, and the blob stays what A committed."""
    repo = registry.repository("first")
    data = secrets.token_bytes(300 * KiB)
    upload_id = _started(repo, data[: 100 * KiB])
    a = repo.uploads.resume(upload_id)
    b = repo.uploads.resume(upload_id)
    b.write(b"B's first bytes")
    a.write(data[100 * KiB :])
    assert a.commit(Digest.of(data)).size == len(data)
    with pytest.raises(BlobUploadUnknownError):
        b.write(b"B's bytes after the commit" * 100)
        _ends(ending)(repo, b)
    b.close()
    _assert_served_intact(registry, driver, data)
    with pytest.raises(BlobUploadUnknownError):
        repo.uploads.resume(upload_id)


def test_bytes_a_foreign_session_stored_are_never_published(
    registry: Registry, driver: StorageDriver
) -> None:
    """B persists bytes into the upload while A is writing; A's commit either publishes
    exactly A's blob or fails, never a blob that does not match its digest."""
    repo = registry.repository("first")
    data = secrets.token_bytes(300 * KiB)
    upload_id = _started(repo, data[: 100 * KiB])
    a = repo.uploads.resume(upload_id)
    b = repo.uploads.resume(upload_id)
    b.write(secrets.token_bytes(150 * KiB))
    with contextlib.suppress(StorageDriverError):  # the registry's errors are ones too
        b.close()
    try:
        a.write(data[100 * KiB :])
        a.commit(Digest.of(data))
    except StorageDriverError:
        assert _blobs(driver) == {}
    for path, content in _blobs(driver).items():
        assert path.endswith("/data")
        assert Digest.of(content).hex == path.split("/")[-2]
    with contextlib.suppress(StorageDriverError):
        a.close()
    with contextlib.suppress(BlobUploadUnknownError):
        repo.uploads.cancel(upload_id)
    _assert_served_intact(registry, driver, data)


@pytest.mark.parametrize("ending", ["close", "commit"])
def test_a_session_held_across_a_cancel_changes_nothing(
    registry: Registry, driver: StorageDriver, ending: str
) -> None:
    """After another session cancelled the upload, a held session's write and close (or
    commit) raise BlobUploadUnknownError; the upload stays gone and the blobs unchanged."""
    repo = registry.repository("first")
    stored = secrets.token_bytes(20 * KiB)
    _assert_served_intact(registry, driver, stored)
    before = _blobs(driver)
    upload_id = _started(repo, secrets.token_bytes(100 * KiB))
    b = repo.uploads.resume(upload_id)
    b.write(b"B's first bytes")
    repo.uploads.cancel(upload_id)
    with pytest.raises(BlobUploadUnknownError):
        b.write(b"B's bytes after the cancel" * 100)
        _ends(ending)(repo, b)
    b.close()
    assert _blobs(driver) == before
    with pytest.raises(BlobUploadUnknownError):
        repo.uploads.resume(upload_id)
    with pytest.raises(PathNotFoundError):
        driver.list(upload_dir("first", upload_id))


def test_a_session_held_across_a_purge_changes_nothing(
    registry: Registry, driver: StorageDriver
) -> None:
    """After a purge removed the upload, a held session's write and close raise
    BlobUploadUnknownError; the upload stays gone and the blobs unchanged."""
    repo = registry.repository("first")
    stored = secrets.token_bytes(20 * KiB)
    _assert_served_intact(registry, driver, stored)
    before = _blobs(driver)
    upload_id = _started(repo, secrets.token_bytes(100 * KiB))
    b = repo.uploads.resume(upload_id)
    b.write(b"B's first bytes")
    report = registry.purge_uploads(now=datetime.now(UTC) + timedelta(days=30))
    assert [record.upload_id for record in report.purged] == [upload_id]
    with pytest.raises(BlobUploadUnknownError):
        b.write(b"B's bytes after the purge" * 100)
        b.close()
    assert _blobs(driver) == before
    with pytest.raises(BlobUploadUnknownError):
        repo.uploads.resume(upload_id)


def test_an_upload_being_committed_is_not_resumed_afresh(
    registry: Registry, driver: StorageDriver
) -> None:
    """While a commit has the data fenced off (staged, not yet moved into the blob store),
    resuming the upload does not start a new, empty data file: BlobUploadUnknownError."""
    repo = registry.repository("first")
    upload_id = repo.uploads.create().id
    # the data as a commit leaves it, committed by its writer
    driver.put_content(upload_data_path("first", upload_id), secrets.token_bytes(10 * KiB))
    repo.uploads.stage(upload_id)  # where a commit stands between its fence and its checks
    with pytest.raises(BlobUploadUnknownError):
        repo.uploads.resume(upload_id)
