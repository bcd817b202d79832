"""Helpers shared by the test folders, imported as ``support`` (pytest puts ``tests`` on
the path; see ``pythonpath`` in pyproject.toml)."""
