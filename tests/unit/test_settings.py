"""The settings object's derived values."""

from __future__ import annotations

import os

import pytest

from qstation.settings import Settings


@pytest.mark.parametrize("workers", [0, 1, 2, 64])
def test_an_execution_takes_its_workers_share_of_the_cores_unless_told(workers: int) -> None:
    cores = len(os.sched_getaffinity(0))
    automatic = Settings(workers=workers, execution_processes=0)
    assert automatic.processes_per_execution() == max(1, cores // max(1, workers))
    assert Settings(workers=workers, execution_processes=3).processes_per_execution() == 3
