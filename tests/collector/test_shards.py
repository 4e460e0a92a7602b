"""The pure rules of replicas (collector/runtime/shards.py): a camera's shard, the fair share, what
a replica lets go of or tries to lock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from collector.runtime.shards import GUARD_LOW, SHARD_TAG, Plan, balance, fair_share, plan, shard_low, shard_of


@pytest.mark.parametrize(("camera", "shards", "shard"), [
    (1, 256, 40), (2, 256, 254), (3, 256, 138), (100, 256, 78), (12345, 256, 213), (987654321, 256, 70),
    (1, 7, 4), (2, 7, 5), (3, 7, 6), (5, 1, 0),
])
def test_shard_of_is_a_fixed_table(camera: int, shards: int, shard: int) -> None:
    """BLAKE2b of the id: these values hold on every replica and Python version (a change here
    moves cameras between replicas during an upgrade)."""
    assert shard_of(camera, shards) == shard


def test_shard_of_is_the_same_in_another_process_with_another_hash_seed() -> None:
    code = "from collector.runtime.shards import shard_of; print([shard_of(c, 256) for c in range(1, 50)])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "12345"}, cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == str([shard_of(c, 256) for c in range(1, 50)])


def test_shards_are_even_over_many_cameras() -> None:
    counts = [0] * 256
    for c in range(1, 100_001):
        counts[shard_of(c, 256)] += 1
    assert balance(counts) < 0.15  # ~390 a shard, 3 sigma ~ 15%


@pytest.mark.parametrize(("shards", "live", "share"), [
    (256, 0, 256), (256, 1, 256), (256, 2, 128), (256, 3, 86), (256, 4, 64), (256, 5, 52), (256, 300, 1), (1, 3, 1),
])
def test_fair_share_is_the_ceiling(shards: int, live: int, share: int) -> None:
    assert fair_share(shards, live) == share


@pytest.mark.parametrize(("owned", "shards", "live", "start", "expected"), [
    ({0, 1, 2, 3, 4}, 8, 2, 0, Plan((4,), (), 0)),  # above the share of 4: the highest goes
    ({0, 1, 2, 3, 4, 5, 6, 7}, 8, 3, 0, Plan((7, 6, 5, 4, 3), (), 0)),  # two more came: the share is 3
    ({0}, 4, 2, 1, Plan((), (1, 2, 3), 1)),  # below the share: try the others from its start
    (set(), 4, 1, 2, Plan((), (2, 3, 0, 1), 4)),  # alone: every shard
    ({0, 1}, 4, 2, 0, Plan((), (2, 3), 0)),  # at its share: nothing to do
])
def test_plan(owned: set[int], shards: int, live: int, start: int, expected: Plan) -> None:
    assert plan(owned, shards, live, start) == expected


def test_three_replicas_converge_on_an_even_split() -> None:
    """Replicas taking free shards in turns (each at its own start) end balanced within one shard."""
    held: list[set[int]] = [set(), set(), set()]
    for _ in range(10):
        for k, mine in enumerate(held):
            taken = set().union(*held)
            p = plan(mine, 256, 3, start=k * 97)
            mine.difference_update(p.release)
            mine.update([s for s in p.candidates if s not in taken][: p.want])
    assert sorted(map(len, held)) == [84, 86, 86] and len(set().union(*held)) == 256
    assert balance(map(len, held)) < 0.02


def test_lock_keys_stay_apart() -> None:
    """Shard keys, the guard and the rollup lock (two-int4 form: another key space) never meet."""
    lows = {shard_low(s) for s in range(65_536)}
    assert len(lows) == 65_536 and GUARD_LOW not in lows and all(0 < x < 2**31 for x in lows)
    assert shard_low(0) == SHARD_TAG
    with pytest.raises(ValueError, match="outside"):
        shard_low(65_536)


@pytest.mark.parametrize(("counts", "spread"), [([], 0.0), ([0, 0], 0.0), ([10, 10, 10], 0.0), ([9, 10, 11], 0.1),
                                                 ([86, 86, 84], (256 / 3 - 84) / (256 / 3))])
def test_balance(counts: list[int], spread: float) -> None:
    assert balance(counts) == pytest.approx(spread)
