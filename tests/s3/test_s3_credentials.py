"""Credentials on a moto server that checks them: right ones work, wrong ones fail clearly.

The server runs in its own process with moto's authentication on (see ``moto_auth_server``),
so a wrong secret produces S3's real ``SignatureDoesNotMatch`` and an unknown key
``InvalidAccessKeyId``; the error names the operation and the bucket and never a credential.
"""

from __future__ import annotations

import pytest

from distribution_storage.driver.errors import PathNotFoundError, StorageDriverError
from distribution_storage.drivers import open_driver

Server = tuple[str, str, str, str]


def params(server: Server, **overrides: str) -> dict[str, str]:
    endpoint, bucket, access, secret = server
    values = {
        "bucket": bucket,
        "regionendpoint": endpoint,
        "forcepathstyle": "true",
        "accesskey": access,
        "secretkey": secret,
    }
    values.update(overrides)
    return values


def test_right_credentials_work(moto_auth_server: Server) -> None:
    driver = open_driver("s3", **params(moto_auth_server))
    driver.put_content("/signed", b"ok")
    assert driver.get_content("/signed") == b"ok"
    with pytest.raises(PathNotFoundError):
        driver.stat("/unsigned")


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({"secretkey": "wrong-secret-value-123"}, "SignatureDoesNotMatch"),
        ({"accesskey": "AKIAUNKNOWNKEY000000"}, "InvalidAccessKeyId"),
    ],
)
def test_wrong_credentials_are_a_clear_error_without_the_secret(
    moto_auth_server: Server, override: dict[str, str], code: str
) -> None:
    values = params(moto_auth_server, **override)
    driver = open_driver("s3", **values)
    with pytest.raises(StorageDriverError) as caught:
        driver.put_content("/denied", b"no")
    message = str(caught.value)
    assert message.startswith(f"s3: put_content /denied: access denied ({code})")
    assert "'authenticated'" in message
    assert values["secretkey"] not in message
    assert not isinstance(caught.value, PathNotFoundError)
