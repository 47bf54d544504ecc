"""Tasks used by the worker tests (imported by the worker process by path)."""

import time
from pathlib import Path

from django_tasks import task


@task()
def slow_append(path: str, seconds: float) -> str:
    """Write "start", wait, write "done": shows where a killed run stopped."""
    with Path(path).open("a") as handle:
        handle.write("start\n")
    time.sleep(seconds)
    with Path(path).open("a") as handle:
        handle.write("done\n")
    return "ok"
