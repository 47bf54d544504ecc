import pytest

from beffroi.ops import database


@pytest.fixture(autouse=True)
def _fresh_job_results():
    """The process keeps a day's job results for a minute: each test reads its own."""
    database._results_cache.clear()
    yield
    database._results_cache.clear()
