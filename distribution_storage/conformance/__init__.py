"""The driver conformance suite: every behaviour of the driver contract as inheritable tests.

A driver author validates a driver in a few lines, the way fsspec backends inherit fsspec's
abstract tests::

    import pytest
    from distribution_storage.conformance import DriverConformance, SuiteOptions

    class TestMyDriver(DriverConformance):
        options = SuiteOptions(large_size=64 * 2**20)  # optional

        @pytest.fixture
        def driver_factory(self):
            return lambda: MyDriver(...)  # a new instance over the same store at each call

The cases are mixins grouped by concern (content and paths, streams, writers, listing and
stat, move and delete, walk, concurrency, errors and capabilities, a hypothesis model test);
:class:`DriverConformance` combines them all. Quick mode (``SuiteOptions(quick=True)``, the
pytest option ``--conformance-quick`` or ``DISTRIBUTION_STORAGE_CONFORMANCE_QUICK=1``) keeps
every case at smaller sizes. :func:`run_conformance` runs the suite without a test module.
"""

from distribution_storage.conformance.base import ConformanceBase, DriverFactory
from distribution_storage.conformance.options import SuiteOptions


class DriverConformance(ConformanceBase):
    """Every conformance case; subclass it and provide a ``driver_factory`` fixture."""


__all__ = ["ConformanceBase", "DriverConformance", "DriverFactory", "SuiteOptions"]
