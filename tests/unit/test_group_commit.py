"""Group commit: concurrent items share one write, each caller gets its own result."""

from __future__ import annotations

import asyncio

import pytest

from wagate.services.group_commit import MAX_BATCH, GroupCommit


class Recorder:
    """A write that records its batches and can be told to fail once."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.fail_next = False

    async def write(self, items: list[int]) -> list[str]:
        await asyncio.sleep(0.01)  # a commit takes time: more items arrive meanwhile
        self.batches.append(items)
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("disk full")
        return [f"id-{item}" for item in items]


async def test_items_arriving_together_are_written_in_few_batches_with_their_own_results() -> None:
    recorder = Recorder()
    group: GroupCommit[int, str] = GroupCommit(recorder.write)

    results = await asyncio.gather(*[group.submit(i) for i in range(600)])

    assert results == [f"id-{i}" for i in range(600)]
    assert sorted(item for batch in recorder.batches for item in batch) == list(range(600))
    assert len(recorder.batches) <= 4
    assert max(len(batch) for batch in recorder.batches) <= MAX_BATCH


async def test_a_failed_write_fails_its_batch_only() -> None:
    recorder = Recorder()
    group: GroupCommit[int, str] = GroupCommit(recorder.write)
    recorder.fail_next = True

    first = await asyncio.gather(*[group.submit(i) for i in range(3)], return_exceptions=True)
    assert all(isinstance(result, RuntimeError) for result in first)
    assert await group.submit(7) == "id-7"


async def test_a_caller_that_goes_away_does_not_stop_the_others() -> None:
    recorder = Recorder()
    group: GroupCommit[int, str] = GroupCommit(recorder.write)

    leaving = asyncio.create_task(group.submit(1))
    staying = asyncio.create_task(group.submit(2))
    await asyncio.sleep(0)
    leaving.cancel()

    assert await staying == "id-2"
    with pytest.raises(asyncio.CancelledError):
        await leaving
    await group.close()
    assert recorder.batches == [[1, 2]], "the cancelled caller's item was still stored"
