from __future__ import annotations

import pytest

from repo_digest.pipeline import batch_label, batch_shas


def test_one_commit_per_batch_while_they_fit():
    shas = [f"{i:040d}" for i in range(1024)]
    batches = batch_shas(shas, 1024)
    assert len(batches) == 1024 and all(len(b) == 1 for b in batches)


@pytest.mark.parametrize(("count", "limit"), [(2000, 1024), (1025, 1024), (5, 2), (10_001, 1024)])
def test_more_commits_than_max_map_length_are_batched_without_loss(count, limit):
    shas = [f"{i:040d}" for i in range(count)]
    batches = batch_shas(shas, limit)
    assert len(batches) <= limit
    assert [sha for batch in batches for sha in batch] == shas


def test_no_commits_no_batches():
    assert batch_shas([], 1024) == []


def test_batch_labels_name_the_commits():
    assert batch_label({"shas": ["abcdef1234"]}) == "abcdef1"
    assert batch_label({"shas": ["abcdef1234", "b" * 40]}) == "abcdef1 +1"
