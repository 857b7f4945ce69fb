"""Group commit: concurrent writes share transactions; a bad item fails only its own writer."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from qstation.store.group_commit import GroupCommit


class Recorder:
    def __init__(self) -> None:
        self.groups: list[list[int]] = []
        self.entered = threading.Event()
        self.release = threading.Event()

    def write_all(self, items: Sequence[int]) -> list[int]:
        self.entered.set()
        self.release.wait(5)
        if any(item < 0 for item in items):
            raise ValueError(f"negative in {list(items)}")
        self.groups.append(list(items))
        return [item * 10 for item in items]


def test_writes_that_arrive_during_a_commit_share_the_next_one() -> None:
    recorder = Recorder()
    committer = GroupCommit(recorder.write_all, "test")
    first = committer.submit(1)
    assert recorder.entered.wait(5)  # the committer writes it and waits to be released
    later = [committer.submit(n) for n in (2, 3, 4)]
    recorder.release.set()
    assert [first.result(5), *(f.result(5) for f in later)] == [10, 20, 30, 40]
    committer.close()
    assert recorder.groups == [[1], [2, 3, 4]]


def test_a_failing_item_fails_alone_and_the_others_are_written() -> None:
    recorder = Recorder()
    committer = GroupCommit(recorder.write_all, "test")
    first = committer.submit(1)
    assert recorder.entered.wait(5)
    others = [committer.submit(n) for n in (2, -3, 4)]
    recorder.release.set()
    assert first.result(5) == 10
    assert others[0].result(5) == 20 and others[2].result(5) == 40
    with pytest.raises(ValueError, match=r"negative in \[-3\]"):
        others[1].result(5)
    committer.close()
    assert sorted(map(tuple, recorder.groups)) == [(1,), (2,), (4,)]
