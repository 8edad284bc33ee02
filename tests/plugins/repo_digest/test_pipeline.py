from __future__ import annotations

import pytest

from repo_digest.pipeline import batch_label, batch_shas


def shas(count: int) -> list[str]:
    return [f"{i:040d}" for i in range(count)]


@pytest.mark.parametrize(("count", "batches", "largest"), [(1, 1, 1), (8, 1, 8), (9, 2, 8), (20, 3, 8), (200, 4, 50)])
def test_a_day_is_split_into_as_many_batches_as_the_pool_runs_at_once(count, batches, largest):
    result = batch_shas(shas(count), 1024, batch_size=8, max_batches=4)
    assert len(result) == batches and max(len(b) for b in result) == largest


@pytest.mark.parametrize(("count", "limit"), [(2000, 1024), (10_001, 1024), (5000, 16)])
def test_big_days_take_bigger_batches_within_the_limits_and_lose_nothing(count, limit):
    result = batch_shas(shas(count), limit, batch_size=8, max_batches=64)
    assert len(result) <= min(64, limit)
    assert len(batch_shas(shas(count), 2, batch_size=1, max_batches=64)) <= 2  # max_map_length wins
    assert [sha for batch in result for sha in batch] == shas(count)


def test_one_commit_per_instance_when_asked():
    result = batch_shas(shas(1024), 1024, batch_size=1, max_batches=1024)
    assert len(result) == 1024 and all(len(b) == 1 for b in result)


def test_no_commits_no_batches():
    assert batch_shas([], 1024) == []


def test_batch_labels_name_the_commits():
    assert batch_label({"shas": ["abcdef1234"]}) == "abcdef1"
    assert batch_label({"shas": ["abcdef1234", "b" * 40]}) == "abcdef1 +1"
