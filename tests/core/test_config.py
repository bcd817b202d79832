"""Reading distribution's config.yml: the storage section, overrides, middleware, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from distribution_storage import ConfigurationError, StorageDriverError
from distribution_storage.config import load_config, open_storage, parse_config, parse_duration

DISTRIBUTION_CONFIG = """
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: {root}
    maxthreads: 100
  delete:
    enabled: true
  redirect:
    disable: false
  maintenance:
    uploadpurging:
      enabled: true
      age: 168h
      interval: 24h
      dryrun: false
  cache:
    blobdescriptor: inmemory
  tag:
    concurrencylimit: 8
http:
  addr: :5000
"""


def test_a_real_distribution_config_is_read(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text(DISTRIBUTION_CONFIG.format(root=tmp_path / "store"))
    config = load_config(path, environ={})
    assert config.driver == "filesystem"
    assert config.parameters == {"rootdirectory": str(tmp_path / "store"), "maxthreads": 100}
    assert config.delete_enabled is True
    assert config.upload_purging["age"] == "168h"
    driver = open_storage(config)
    driver.put_content("/x", b"1")
    assert (tmp_path / "store" / "x").read_bytes() == b"1"


def test_bare_driver_name_form() -> None:
    config = parse_config("storage: inmemory", environ={})
    assert config.driver == "inmemory"
    assert config.parameters == {}


def test_environment_overrides_parameters_and_reserved_keys() -> None:
    text = "storage:\n  filesystem:\n    rootdirectory: /from/file\n"
    environ = {
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/from/env",
        "REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS": "50",
        "REGISTRY_STORAGE_DELETE_ENABLED": "true",
        "UNRELATED": "x",
    }
    config = parse_config(text, environ=environ)
    assert config.parameters == {"rootdirectory": "/from/env", "maxthreads": "50"}
    assert config.delete_enabled is True


def test_environment_can_choose_the_driver_and_keys_with_underscores() -> None:
    environ = {
        "REGISTRY_STORAGE": "azure",
        "REGISTRY_STORAGE_AZURE_MAX_RETRIES": "3",
        "REGISTRY_STORAGE_AZURE_CREDENTIALS_TYPE": "shared_key",
    }
    text = (
        "storage:\n  filesystem: {}\n  azure:\n    credentials:\n      type: default_credentials\n"
    )
    config = parse_config(text, environ=environ)
    assert config.driver == "azure"
    assert config.parameters == {"max_retries": "3", "credentials": {"type": "shared_key"}}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("storage:\n  s3: {}\n  filesystem: {}\n", "exactly one storage driver"),
        ("storage:\n  delete: {enabled: true}\n", "found: none"),
        ("storage: [1, 2]", "storage: must be a mapping"),
        ("storage: {filesystem: {maxthreads: lots}}", "storage.filesystem.maxthreads"),
        ("storage: {filesystem: {rootdir: /x}}", "storage.filesystem.rootdir: unknown parameter"),
        ("storage: {filesystem: {}, delete: {enabled: perhaps}}", "storage.delete.enabled"),
        ("storage: {floppy: {}}", "unknown storage driver 'floppy'"),
        ("storage:\n  filesystem: {}\n bad: [", "not valid YAML at line"),
        ("- a list", "must be a mapping"),
        (
            "storage: inmemory\nmiddleware:\n  storage:\n    - name: warp\n",
            "unknown storage middleware 'warp'",
        ),
        (
            "storage: inmemory\nmiddleware:\n  storage:\n    - name: redirect\n",
            "middleware.storage.redirect.baseurl: is required",
        ),
    ],
)
def test_bad_configs_name_the_key_at_fault(text: str, fragment: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        open_storage(parse_config(text, environ={}))
    assert fragment in str(caught.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no such configuration file"):
        load_config(tmp_path / "nope.yml")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("168h", 604800.0), ("1h30m", 5400.0), ("30m", 1800.0), ("0", 0.0), ("500ms", 0.5)],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["1d", "h", "-5m", "10 minutes"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ConfigurationError, match="not a duration"):
        parse_duration(text, key="--grace-period")


@given(st.text(max_size=200))
def test_parse_config_raises_only_configuration_errors(text: str) -> None:
    try:
        config = parse_config(text, environ={})
        open_storage(config) if config.driver == "inmemory" else None
    except StorageDriverError:
        pass
