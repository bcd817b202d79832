"""A model-based conformance case: hypothesis drives random operations against a dict model.

:class:`ModelCases` runs a hypothesis ``RuleBasedStateMachine`` whose rules put, append
through resumed writers, move, delete, get, stat, list and walk below a fresh directory,
checking the driver against a plain ``{path: bytes}`` model after every step. Names come
from a small alphabet (``a``, ``a-b``, ``a.b``...) so that siblings sharing a string prefix
and byte-order surprises come up often. Directories are implicit: a backend may keep an
emptied directory (a filesystem) or not (an object store), so the model accepts either,
and it never asks for behaviour the contract leaves open (a file under a file). The
example and step counts come from :class:`SuiteOptions`.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, Phase, assume, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from distribution_storage.conformance.base import ConformanceBase, remove_tree
from distribution_storage.conformance.helpers import write_all
from distribution_storage.conformance.options import SuiteOptions
from distribution_storage.driver.contract import StorageDriver
from distribution_storage.driver.errors import PathNotFoundError
from distribution_storage.driver.paths import parent_of, walk_key

NAMES = ("a", "a-b", "a.b", "a0", "B")
PARTS = st.lists(st.sampled_from(NAMES), min_size=1, max_size=2)
CONTENT = st.binary(max_size=48)
PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink)
PHASES_NO_SHRINK = PHASES[:-1]
SEED = st.dictionaries(PARTS.map(tuple), CONTENT, max_size=8)


def model_machine(driver: StorageDriver, prefix: str) -> type[RuleBasedStateMachine]:
    """A state machine class checking ``driver`` below fresh directories of ``prefix``."""
    counter = itertools.count()

    class DriverModel(RuleBasedStateMachine):
        """The driver against ``{path: bytes}``; every rule checks what it observes."""

        def __init__(self) -> None:
            super().__init__()
            self.root = f"{prefix}/model-{next(counter)}"
            self.files: dict[str, bytes] = {}
            self.ever_dirs: set[str] = set()

        def path(self, parts: list[str]) -> str:
            """The path of ``parts`` below this example's root."""
            return f"{self.root}/{'/'.join(parts)}"

        def ancestors(self, path: str) -> list[str]:
            """The directories between this example's root and ``path``, nearest first."""
            found = []
            parent = parent_of(path)
            while parent != self.root:
                found.append(parent)
                parent = parent_of(parent)
            return found

        def live_dirs(self) -> set[str]:
            """The directories that hold at least one file now."""
            return {d for path in self.files for d in self.ancestors(path)}

        def may_hold_file(self, path: str) -> bool:
            """Whether the contract defines a file at ``path``: never a directory, no file above."""
            if path in self.ever_dirs:
                return False
            return not any(d in self.files for d in self.ancestors(path))

        def store(self, path: str, data: bytes) -> None:
            """Record a file in the model."""
            self.files[path] = data
            self.ever_dirs.update(self.ancestors(path))

        def remove(self, target: str) -> None:
            """Forget ``target`` and everything below it."""
            for path in [p for p in self.files if p == target or p.startswith(target + "/")]:
                del self.files[path]

        @initialize(files=SEED)
        def seed(self, files: dict[tuple[str, ...], bytes]) -> None:
            """Start from a few files, so that prefix siblings meet early."""
            for parts, data in files.items():
                path = self.path(list(parts))
                if self.may_hold_file(path):
                    driver.put_content(path, data)
                    self.store(path, data)

        @rule(parts=PARTS, data=CONTENT)
        def put(self, parts: list[str], data: bytes) -> None:
            """put_content replaces the file."""
            path = self.path(parts)
            assume(self.may_hold_file(path))
            driver.put_content(path, data)
            self.store(path, data)

        @rule(parts=PARTS, first=CONTENT.filter(bool), second=CONTENT)
        def append(self, parts: list[str], first: bytes, second: bytes) -> None:
            """A writer closed after ``first`` resumes, adds ``second`` and commits."""
            path = self.path(parts)
            assume(self.may_hold_file(path))
            writer = driver.writer(path)
            write_all(writer, first)
            writer.close()
            resumed = driver.writer(path, append=True)
            assert resumed.size == len(first)
            write_all(resumed, second)
            resumed.commit()
            resumed.close()
            self.store(path, first + second)

        @precondition(lambda self: bool(self.files))
        @rule(data=st.data(), parts=PARTS)
        def move(self, data: st.DataObject, parts: list[str]) -> None:
            """A file moves, overwriting the destination."""
            source = data.draw(st.sampled_from(sorted(self.files)))
            dest = self.path(parts)
            assume(dest != source and self.may_hold_file(dest))
            driver.move(source, dest)
            content = self.files.pop(source)
            self.store(dest, content)

        @precondition(lambda self: bool(self.files))
        @rule(data=st.data())
        def delete(self, data: st.DataObject) -> None:
            """A file or a directory goes, with everything below it."""
            target = data.draw(st.sampled_from(sorted(set(self.files) | self.live_dirs())))
            driver.delete(target)
            self.remove(target)

        @rule(parts=PARTS)
        def delete_missing(self, parts: list[str]) -> None:
            """Deleting a path that never existed raises PathNotFoundError."""
            path = self.path(parts)
            assume(path not in self.files and path not in self.ever_dirs)
            with pytest.raises(PathNotFoundError):
                driver.delete(path)

        @rule(parts=PARTS)
        def get(self, parts: list[str]) -> None:
            """get_content returns the model's bytes, or PathNotFoundError."""
            path = self.path(parts)
            if path in self.files:
                assert driver.get_content(path) == self.files[path]
            elif path not in self.ever_dirs:
                with pytest.raises(PathNotFoundError):
                    driver.get_content(path)

        @precondition(lambda self: bool(self.files))
        @rule(data=st.data())
        def stat(self, data: st.DataObject) -> None:
            """stat reports the size and kind of a file or a directory."""
            target = data.draw(st.sampled_from(sorted(set(self.files) | self.live_dirs())))
            info = driver.stat(target)
            assert info.path == target
            if target in self.files:
                assert (info.size, info.is_dir) == (len(self.files[target]), False)
            else:
                assert (info.size, info.is_dir) == (0, True)

        @precondition(lambda self: bool(self.files))
        @rule(data=st.data())
        def list_directory(self, data: st.DataObject) -> None:
            """list holds every child with files below it, plus only emptied directories."""
            directory = data.draw(st.sampled_from(sorted(self.live_dirs() | {self.root})))
            expected = {
                path if parent_of(path) == directory else self.child_of(directory, path)
                for path in self.files
                if path.startswith(directory + "/")
            }
            listed = driver.list(directory)
            assert len(listed) == len(set(listed)), "an entry listed twice"
            assert expected <= set(listed)
            for extra in set(listed) - expected:
                assert extra in self.ever_dirs, f"{extra} listed but never written"

        def child_of(self, directory: str, path: str) -> str:
            """The direct child of ``directory`` on the way to ``path``."""
            rest = path[len(directory) + 1 :]
            return f"{directory}/{rest.split('/', 1)[0]}"

        @rule()
        def walk(self) -> None:
            """walk yields every file with its size, in order, and the live directories."""
            try:
                entries = list(driver.walk(self.root))
            except PathNotFoundError:
                assert not self.files, "walk of a directory holding files raised"
                return
            paths = [info.path for info in entries]
            assert paths == sorted(paths, key=walk_key), "walk out of order"
            assert len(paths) == len(set(paths)), "walk yielded an entry twice"
            files = {info.path: info.size for info in entries if not info.is_dir}
            assert files == {path: len(data) for path, data in self.files.items()}
            dirs = {info.path for info in entries if info.is_dir}
            assert self.live_dirs() <= dirs <= self.ever_dirs

        def teardown(self) -> None:
            """Delete this example's directory."""
            remove_tree(driver, self.root)

    return DriverModel


class ModelCases(ConformanceBase):
    """Random operation sequences agree with a dict model at every step."""

    def test_random_operations_match_a_dict_model(
        self, driver: StorageDriver, prefix: str, suite: SuiteOptions
    ) -> None:
        """A hypothesis state machine over put/append/move/delete/get/stat/list/walk."""
        run_state_machine_as_test(
            model_machine(driver, prefix),
            settings=settings(
                max_examples=suite.state_machine_examples,
                stateful_step_count=suite.state_machine_steps,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=PHASES if suite.state_machine_shrink else PHASES_NO_SHRINK,
                derandomize=suite.state_machine_derandomize,
            ),
        )
