"""Shared fixtures: small generated organisations and a fresh warehouse per test."""

import datetime as dt
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from generator.deliveries import GeneratorConfig, generate
from ingestion.load import Loader
from ingestion.privacy import Pseudonymiser

TEST_KEY = b"test-key-test-key-test-key-00001"

# The order the two workers take the suite's work in (`make test` runs it with --dist loadgroup
# --no-loadscope-reorder): the crash test first, the longest piece of work that cannot be shared
# (ten killed runs one after the other), then the groups by their number of tests, largest
# first, as xdist orders them itself. Ordered by xdist, the one-test crash group came among the
# single tests, a third of the way in, and ran alone for its last five minutes.
LONGEST_GROUP = "crash"


def pytest_collection_modifyitems(config, items):
    def group(item) -> str:
        marker = item.get_closest_marker("xdist_group")
        return marker.args[0] if marker else item.nodeid

    sizes = Counter(group(item) for item in items)
    items.sort(key=lambda item: (group(item) != LONGEST_GROUP, -sizes[group(item)]))


@pytest.fixture(scope="session")
def small_landing(tmp_path_factory) -> Path:
    """A 120-employee organisation over two years, two HR snapshots: generated once per session."""
    out = tmp_path_factory.mktemp("landing") / "landing"
    generate(
        GeneratorConfig(
            out=out, employees=120, years=2, start=dt.date(2022, 1, 1), seed=7, snapshots=2
        )
    )
    return out


@pytest.fixture
def landing_copy(small_landing, tmp_path) -> Path:
    """A private copy of the small landing folder that a test may damage."""
    target = tmp_path / "landing"
    shutil.copytree(small_landing, target)
    return target


@pytest.fixture
def warehouse(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield con
    con.close()


@pytest.fixture
def loader(warehouse) -> Loader:
    return Loader(warehouse, Pseudonymiser(TEST_KEY), run_id="test-run")


def newest(landing: Path, source: str) -> Path:
    return sorted((landing / source).iterdir())[-1]
