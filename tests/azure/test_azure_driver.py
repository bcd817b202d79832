"""The azure driver beyond the conformance suite, against Azurite.

Parameters as distribution spells them, read SAS URLs fetched over HTTP, block and append
blob conversions (a legacy append blob replaced by ``put_content``, an empty block blob
appended to), appends split at 4 MiB, an ambiguous append verified rather than duplicated,
and bad input: a missing container, a wrong key, an emulator that is down, a blob of the
wrong type.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from azure.storage.blob import BlobServiceClient, BlobType
from azurite_server import ACCOUNT_KEY, free_port, start_azurite
from support import flaky_proxy
from support.copy_from import check_copy_from

from distribution_storage.driver.contract import Capability, StorageDriver
from distribution_storage.driver.errors import (
    ConfigurationError,
    PathNotFoundError,
    StorageDriverError,
)
from distribution_storage.driver.wrapper import validated
from distribution_storage.drivers import open_driver
from distribution_storage.drivers.azure import AzureDriver
from distribution_storage.drivers.azure_parameters import AzureParameters

MiB = 1024 * 1024
Params = Callable[..., dict[str, Any]]
BASE = {"accountname": "acct", "container": "cont", "accountkey": "a2V5"}


def test_parameters_defaults_and_strings() -> None:
    """Defaults are distribution's; strings (environment overrides) are accepted."""
    params = AzureParameters.from_mapping(BASE)
    assert params.account_url == "https://acct.blob.core.windows.net"
    assert (params.max_retries, params.retry_delay, params.skipverify) == (5, 0.1, False)
    params = AzureParameters.from_mapping(
        {**BASE, "max_retries": "3", "retry_delay": "1.5s", "skipverify": "true", "realm": "x.cn"}
    )
    assert (params.max_retries, params.retry_delay, params.skipverify) == (3, 1.5, True)
    assert params.account_url == "https://acct.blob.x.cn"
    assert "a2V5" not in repr(params)
    secret = {"type": "client_secret", "clientid": "c", "tenantid": "t", "secret": "s3cr3t"}
    params = AzureParameters.from_mapping(
        {"accountname": "a", "container": "c", "credentials": secret}
    )
    assert params.credential_type == "client_secret" and params.secrets == ("s3cr3t",)


@pytest.mark.parametrize(
    ("parameters", "key"),
    [
        ({"container": "c", "accountkey": "k"}, "accountname"),
        ({"accountname": "a", "accountkey": "k"}, "container"),
        ({"accountname": "a", "container": "c"}, "accountkey"),
        ({**BASE, "credentials": {"type": "password"}}, "credentials.type"),
        ({**BASE, "credentials": {"type": "client_secret", "clientid": "c"}}, "tenantid"),
        ({**BASE, "credentials": {"type": "shared_key", "extra": 1}}, "credentials.extra"),
        ({**BASE, "retry_delay": "100"}, "retry_delay"),
        ({**BASE, "max_retries": "many"}, "max_retries"),
        ({**BASE, "chunksize": 5}, "chunksize"),
    ],
)
def test_bad_parameters_name_the_key(parameters: dict[str, Any], key: str) -> None:
    """Each bad parameter is a ConfigurationError naming it."""
    with pytest.raises(ConfigurationError) as caught:
        AzureParameters.from_mapping(parameters)
    assert key in str(caught.value)


@pytest.fixture
def driver(azure_params: Params) -> StorageDriver:
    """A driver on Azurite under its own root directory."""
    return validated(AzureDriver.from_parameters(azure_params(rootdirectory=os.urandom(4).hex())))


def _blob(service: BlobServiceClient, container: str, driver: StorageDriver, path: str) -> Any:
    inner = driver.inner  # type: ignore[attr-defined]
    return service.get_blob_client(container, inner._key(path))


def test_open_driver_by_name(azure_params: Params) -> None:
    """The factory opens ``azure`` from distribution parameters, behind the wrapper."""
    driver = open_driver("azure", **azure_params(rootdirectory="factory"))
    driver.put_content("/x", b"y")
    assert driver.get_content("/x") == b"y"
    assert Capability.REDIRECT in driver.capabilities


def test_sas_urls_are_fetched_over_http(driver: StorageDriver) -> None:
    """GET and HEAD SAS URLs serve the blob; read-only, expiring in 20 minutes."""
    driver.put_content("/sas/blob", b"shared access")
    url = driver.redirect_url("/sas/blob")
    assert url is not None
    query = parse_qs(urlsplit(url).query)
    assert query["sp"] == ["r"]
    response = requests.get(url, timeout=10)
    assert response.status_code == 200 and response.content == b"shared access"
    head_url = driver.redirect_url("/sas/blob", method="HEAD")
    assert head_url is not None
    head = requests.head(head_url, timeout=10)
    assert head.status_code == 200 and head.headers["Content-Length"] == "13"
    assert requests.put(url, data=b"x", headers={"x-ms-blob-type": "BlockBlob"}).status_code == 403
    assert ACCOUNT_KEY not in url


def test_put_content_replaces_a_legacy_append_blob(
    driver: StorageDriver, azure_service: BlobServiceClient, azure_container: str
) -> None:
    """An append blob at the path (as old writers left) becomes a block blob with new content."""
    blob = _blob(azure_service, azure_container, driver, "/legacy")
    blob.create_append_blob()
    blob.append_block(b"old appended content")
    driver.put_content("/legacy", b"new")
    assert blob.get_blob_properties().blob_type == BlobType.BLOCKBLOB
    assert driver.get_content("/legacy") == b"new"


def test_append_to_empty_block_blob_converts_it(
    driver: StorageDriver, azure_service: BlobServiceClient, azure_container: str
) -> None:
    """``put_content(path, b"")`` then a resumed writer: the blob becomes an append blob."""
    driver.put_content("/empty", b"")
    blob = _blob(azure_service, azure_container, driver, "/empty")
    assert blob.get_blob_properties().blob_type == BlobType.BLOCKBLOB
    writer = driver.writer("/empty", append=True)
    assert writer.size == 0
    writer.write(b"grown")
    writer.commit()
    assert blob.get_blob_properties().blob_type == BlobType.APPENDBLOB
    assert driver.get_content("/empty") == b"grown"


def test_append_to_block_blob_with_content_is_a_typed_error(driver: StorageDriver) -> None:
    """A block blob with content cannot be resumed: a clear error naming the path."""
    driver.put_content("/block", b"content")
    with pytest.raises(StorageDriverError) as caught:
        driver.writer("/block", append=True)
    assert "azure: writer /block" in str(caught.value) and "block" in str(caught.value).lower()


def test_appends_are_split_at_4_mib(
    driver: StorageDriver, azure_service: BlobServiceClient, azure_container: str
) -> None:
    """9 MiB written at once land as three append blocks (4 + 4 + 1 MiB), in order."""
    data = os.urandom(9 * MiB)
    writer = driver.writer("/big")
    writer.write(data)
    writer.commit()
    props = _blob(azure_service, azure_container, driver, "/big").get_blob_properties()
    assert props.append_blob_committed_block_count == 3
    assert driver.get_content("/big") == data


def test_ambiguous_append_is_verified_not_duplicated(
    driver: StorageDriver, azure_service: BlobServiceClient, azure_container: str
) -> None:
    """If the block already landed (a lost response), the writer sees it and does not resend."""
    writer = driver.writer("/amb")
    writer.write(b"first-")
    writer.close()
    resumed = driver.writer("/amb", append=True)
    resumed.write(b"second")
    # The append "succeeded" but its answer was lost: the block is there, the ETag moved on.
    _blob(azure_service, azure_container, driver, "/amb").append_block(b"second")
    resumed.commit()
    assert driver.get_content("/amb") == b"first-second"


def test_concurrent_foreign_append_is_an_error(
    driver: StorageDriver, azure_service: BlobServiceClient, azure_container: str
) -> None:
    """Another writer's bytes at our offset are detected; nothing is appended over them."""
    writer = driver.writer("/race")
    writer.write(b"mine")
    writer.close()
    resumed = driver.writer("/race", append=True)
    resumed.write(b"ours")
    _blob(azure_service, azure_container, driver, "/race").append_block(b"THEM")
    with pytest.raises(StorageDriverError) as caught:
        resumed.commit()
    assert "another writer" in str(caught.value)
    assert driver.get_content("/race") == b"mineTHEM"


def test_move_deletes_the_source_after_the_copy(driver: StorageDriver) -> None:
    """``move`` copies server-side and then removes the source."""
    driver.put_content("/m/src", b"payload")
    driver.move("/m/src", "/m/dst")
    assert driver.get_content("/m/dst") == b"payload"
    with pytest.raises(PathNotFoundError):
        driver.stat("/m/src")


def test_missing_container_is_a_configuration_error(azure_params: Params) -> None:
    """A container that does not exist fails at construction, naming it."""
    with pytest.raises(ConfigurationError) as caught:
        AzureDriver.from_parameters(azure_params(container="no-such-container"))
    assert "no-such-container" in str(caught.value)


def test_wrong_key_is_an_authentication_error_without_the_key(azure_params: Params) -> None:
    """A wrong account key says authentication failed and shows no key."""
    wrong = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ=="
    with pytest.raises(StorageDriverError) as caught:
        AzureDriver.from_parameters(azure_params(accountkey=wrong))
    message = str(caught.value)
    assert "authentication failed" in message
    assert wrong not in message and ACCOUNT_KEY not in message
    assert caught.value.__cause__ is None or wrong not in str(caught.value.__cause__)


def test_emulator_down_is_a_clear_error(azure_params: Params) -> None:
    """An endpoint nobody answers on gives a StorageDriverError that says so."""
    url = f"http://127.0.0.1:{free_port()}/devstoreaccount1"
    with pytest.raises(StorageDriverError) as caught:
        AzureDriver.from_parameters(azure_params(serviceurl=url, max_retries=1))
    assert "cannot reach" in str(caught.value) and ACCOUNT_KEY not in str(caught.value)


def test_emulator_stopping_midway_names_operation_and_path(
    tmp_path: Path, azure_params: Params
) -> None:
    """A driver whose server went away reports a typed error naming the verb and the path."""
    server = start_azurite(tmp_path)
    try:
        credential = {"account_name": "devstoreaccount1", "account_key": ACCOUNT_KEY}
        with BlobServiceClient(server.service_url, credential=credential) as client:
            client.create_container("gone")
        params = azure_params(serviceurl=server.service_url, container="gone", max_retries=1)
        driver = validated(AzureDriver.from_parameters(params))
        driver.put_content("/some/file", b"x")
    finally:
        server.stop()
    with pytest.raises(StorageDriverError) as caught:
        driver.stat("/some/file")
    assert not isinstance(caught.value, PathNotFoundError)
    assert "azure: stat /some/file" in str(caught.value)


def test_walk_of_a_file_or_missing_path_is_not_found(driver: StorageDriver) -> None:
    """Walking a file, or a missing path even with ``start_after``, raises PathNotFoundError."""
    driver.put_content("/d/file", b"x")
    with pytest.raises(PathNotFoundError):
        list(driver.walk("/d/file"))
    with pytest.raises(PathNotFoundError):
        list(driver.walk("/missing", start_after="/missing/a"))
    assert [info.path for info in driver.walk("/d", start_after="/d/file")] == []


@pytest.mark.parametrize("status", [500, 503])
def test_transient_errors_are_retried(azurite: Any, azure_params: Params, status: int) -> None:
    """5xx answers (from a real proxy in front of Azurite) are retried, max_retries times."""
    with flaky_proxy.FlakyProxy(f"http://127.0.0.1:{azurite.port}") as proxy:
        url = f"{proxy.endpoint}/devstoreaccount1"
        driver = validated(
            AzureDriver.from_parameters(
                azure_params(serviceurl=url, rootdirectory=f"retry{status}", max_retries=3)
            )
        )
        calls: list[tuple[str, Callable[[], object]]] = [
            ("put_content", lambda: driver.put_content("/r/file", b"retried")),
            ("get_content", lambda: driver.get_content("/r/file")),
            ("stat", lambda: driver.stat("/r/file")),
            ("list", lambda: driver.list("/r")),
            ("delete", lambda: driver.delete("/r")),
        ]
        # (move is left out: Azurite will not copy from a source URL on another host.)
        for name, call in calls:
            proxy.fail_next(2, status)
            call()
            assert proxy.injected == 2, name
        proxy.fail_next(100, 503)
        with pytest.raises(StorageDriverError) as caught:
            driver.get_content("/r/never")
        assert proxy.injected == 4  # the first try and max_retries=3 retries
        assert "azure: get_content /r/never" in str(caught.value)


def test_walk_never_lists_a_pruned_directory(azurite: Any, azure_params: Params) -> None:
    """The walk lists directory by directory and never lists a pruned subtree."""
    with flaky_proxy.FlakyProxy(f"http://127.0.0.1:{azurite.port}") as proxy:
        url = f"{proxy.endpoint}/devstoreaccount1"
        driver = validated(
            AzureDriver.from_parameters(azure_params(serviceurl=url, rootdirectory="pw"))
        )
        for name in ("keep/x", "keep/y/z", "skip/a/b", "skip/c", "top"):
            driver.put_content(f"/t/{name}", b"x")
        proxy.seen.clear()
        walked = [i.path for i in driver.walk("/t", prune=lambda i: i.path.endswith("/skip"))]
        assert walked == ["/t/keep", "/t/keep/x", "/t/keep/y", "/t/keep/y/z", "/t/skip", "/t/top"]
        listings = [line for line in proxy.seen if "comp=list" in line]
        assert any("keep%2F" in line for line in listings), listings
        assert not any("skip%2F" in line for line in listings), listings
        driver.delete("/t")


def test_copy_from_another_container_copies_inside_the_account(
    azure_params: Params, azure_service: BlobServiceClient
) -> None:
    """``copy_from`` a driver on another container of the same account copies the bytes."""
    source = AzureDriver.from_parameters(azure_params(rootdirectory="copysrc"))
    other = f"c-{os.urandom(6).hex()}"
    azure_service.create_container(other)
    target = AzureDriver.from_parameters(azure_params(container=other, rootdirectory="copydst"))
    data = os.urandom(5 * MiB)
    with source.writer("/blobs/data") as writer:  # an append blob, as migration stages them
        writer.write(data)
        writer.commit()
    check_copy_from(source, target, {"/blobs/data": data})
    source.delete("/blobs")


def test_copy_from_another_endpoint_declines(azurite: Any, azure_params: Params) -> None:
    """A source reached through another endpoint is not copied server-side (False: the
    caller streams); the target is left untouched."""
    target = AzureDriver.from_parameters(azure_params(rootdirectory="declined"))
    with flaky_proxy.FlakyProxy(f"http://127.0.0.1:{azurite.port}") as proxy:
        url = f"{proxy.endpoint}/devstoreaccount1"
        source = AzureDriver.from_parameters(azure_params(serviceurl=url, rootdirectory="far"))
        source.put_content("/file", b"far away")
        assert target.copy_from(source, "/file", "/copy") is False
        source.delete("/file")
    with pytest.raises(PathNotFoundError):
        target.stat("/copy")
