"""Root conftest: shared fixtures live in tests/fixtures.py (loaded as a plugin)."""

import pytest

pytest_plugins = ["tests.fixtures"]


def pytest_collection_modifyitems(config, items):
    """Pure domain tests (tests/**/domain/) need no database; everything else is an integration test."""
    for item in items:
        if "/domain/" in str(item.path):
            item.add_marker(pytest.mark.pure)
        else:
            item.add_marker(pytest.mark.integration)
