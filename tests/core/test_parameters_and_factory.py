"""Driver parameters as config.yml gives them, and the driver factory."""

from __future__ import annotations

import pytest

from distribution_storage import (
    ConfigurationError,
    PathNotFoundError,
    UnknownDriverError,
    known_drivers,
    open_driver,
)
from distribution_storage.driver import ParameterReader, ValidatingDriver
from distribution_storage.drivers.inmemory import InMemoryDriver


def test_parameters_accept_strings_and_native_values() -> None:
    native = ParameterReader("s3", {"chunksize": 10485760, "secure": False, "region": "eu"})
    strings = ParameterReader("s3", {"ChunkSize": "10485760", "secure": "false", "region": "eu"})
    for params in (native, strings):
        assert params.integer("chunksize", 0, minimum=5 << 20) == 10485760
        assert params.boolean("secure", True) is False
        assert params.string("region", required=True) == "eu"
        params.finish()


def test_parameter_errors_name_the_key() -> None:
    params = ParameterReader("s3", {"chunksize": "1024", "secure": "maybe"})
    with pytest.raises(ConfigurationError, match=r"storage\.s3\.chunksize: must be at least"):
        params.integer("chunksize", 0, minimum=5 << 20)
    with pytest.raises(ConfigurationError, match=r"storage\.s3\.secure: must be true or false"):
        params.boolean("secure", True)
    with pytest.raises(ConfigurationError, match=r"storage\.s3\.bucket: is required"):
        params.string("bucket", required=True)


def test_unknown_parameters_are_rejected_with_the_known_ones_listed() -> None:
    with pytest.raises(ConfigurationError) as caught:
        open_driver("filesystem", rootdirectory="/tmp/x", rootdir="/tmp/y")
    assert caught.value.key == "storage.filesystem.rootdir"
    assert "maxthreads, rootdirectory" in str(caught.value)


def test_unknown_driver_lists_the_known_ones() -> None:
    with pytest.raises(UnknownDriverError) as caught:
        open_driver("floppy")
    message = str(caught.value)
    for name in ("filesystem", "inmemory", "s3", "gcs", "azure", "swift", "oss"):
        assert name in message
    assert isinstance(caught.value, LookupError)


def test_every_builtin_driver_name_is_known() -> None:
    assert {"filesystem", "inmemory", "s3", "s3aws", "gcs", "azure", "swift", "oss"} <= set(
        known_drivers()
    )


def test_opened_drivers_stand_behind_the_validating_wrapper(tmp_path: object) -> None:
    driver = open_driver("filesystem", rootdirectory=str(tmp_path))
    assert isinstance(driver, ValidatingDriver)
    assert driver.name == "filesystem"


def test_inmemory_instances_never_share_state() -> None:
    first, second = open_driver("inmemory"), open_driver("inmemory")
    first.put_content("/a", b"1")
    assert second.list("/") == []


class PluginDriver(InMemoryDriver):
    """A third-party driver, as a package would register it."""

    name = "plugin"


def test_third_party_drivers_come_from_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    import distribution_storage.drivers as factory

    point = importlib.metadata.EntryPoint(
        name="plugin",
        value=f"{__name__}:PluginDriver",
        group=factory.ENTRY_POINT_GROUP,
    )

    def entry_points(*, group: str) -> list[importlib.metadata.EntryPoint]:
        return [point] if group == factory.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(factory, "entry_points", entry_points)
    assert "plugin" in known_drivers()
    driver = open_driver("plugin")
    driver.put_content("/x", b"1")
    assert driver.name == "plugin"
    with pytest.raises(PathNotFoundError, match=r"^plugin: path not found"):
        driver.get_content("/y")
