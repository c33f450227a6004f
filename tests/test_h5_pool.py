"""The walk's task pool against a driver that holds some bytes and fetches the rest, the way
ByteSource does: `optional` tasks (the small datasets a narrow walk reads on its way) run
only for free. Checked over generated task trees: the required results are those of a pool
without the optional tasks, in no more fetch rounds; an optional task whose bytes are all
held completes with the right bytes."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lazynwb_explorer.backends.hdf5.io import HELD, Parser, fetch, optional, pool, run

SIZE = 4096
BLOCK = 64
DATA = random.Random(0).randbytes(SIZE)


class HoldingDriver:
    """Answers HELD probes from the blocks it holds; a fetch round keeps what it fetched."""

    def __init__(self, data: bytes, held_blocks: set[int]):
        self.data = data
        self.held = set(held_blocks)
        self.rounds = 0  # rounds that fetched something

    def _is_held(self, offset: int, length: int) -> bool:
        return all(b in self.held for b in range(offset // BLOCK, (offset + length - 1) // BLOCK + 1))

    def read_round(self, ranges: list[tuple]) -> list[Any]:
        if ranges and len(ranges[0]) > 2 and ranges[0][2] == HELD:
            return [self.data[o:o + n] if self._is_held(o, n) else None for o, n, _ in ranges]
        missing = [(o, n) for o, n, *_ in ranges if not self._is_held(o, n)]
        if missing:
            self.rounds += 1
            for o, n in missing:
                self.held.update(range(o // BLOCK, (o + n - 1) // BLOCK + 1))
        return [self.data[o:o + n] for o, n, *_ in ranges]


def chain(ranges: list[tuple[int, int]]) -> Parser[list[bytes]]:
    """A pointer chain: each range is asked for after the previous one arrived."""
    out = []
    for offset, length in ranges:
        out.append((yield from fetch(offset, length)))
    return out


ranges_st = st.lists(st.tuples(st.integers(0, SIZE - 65), st.integers(1, 64)), min_size=1, max_size=4)
# a required chain; when it ends it starts required children and optional chains
node_st = st.recursive(
    st.tuples(ranges_st, st.just([]), st.lists(ranges_st, max_size=2)),
    lambda children: st.tuples(ranges_st, st.lists(children, max_size=3), st.lists(ranges_st, max_size=2)),
    max_leaves=12,
)


def _run_tree(tree: tuple, driver: HoldingDriver, with_optional: bool) -> tuple[list, list]:
    required: list[tuple[list, list[bytes]]] = []
    optional_done: list[tuple[list, list[bytes]]] = []

    def task(node: tuple):  # noqa: ANN202 - an io.Task
        ranges, children, optionals = node

        def done(value: list[bytes]) -> list:
            required.append((ranges, value))
            started = [task(child) for child in children]
            if with_optional:
                started += [optional((chain(o), lambda v, o=o: optional_done.append((o, v))))
                            for o in optionals]
            return started

        return chain(ranges), done

    run(pool([task(tree)]), driver.read_round)
    return required, optional_done


@settings(max_examples=300, deadline=None)
@given(tree=node_st, held=st.sets(st.integers(0, SIZE // BLOCK - 1)))
def test_optional_tasks_run_only_for_free(tree: tuple, held: set[int]) -> None:
    data = DATA
    alone = HoldingDriver(data, held)
    required_alone, _ = _run_tree(tree, alone, with_optional=False)
    driver = HoldingDriver(data, held)
    required, optional_done = _run_tree(tree, driver, with_optional=True)

    assert sorted(map(repr, required)) == sorted(map(repr, required_alone))
    # optional work never costs a round of its own (bytes it brought along may save one)
    assert driver.rounds <= alone.rounds
    for ranges, value in optional_done + required:
        assert value == [data[o:o + n] for o, n in ranges]

    def optionals(node: tuple) -> list:
        return node[2] + [o for child in node[1] for o in optionals(child)]

    done = {repr(o) for o, _ in optional_done}
    for ranges in optionals(tree):
        if all(b in held for o, n in ranges for b in range(o // BLOCK, (o + n - 1) // BLOCK + 1)):
            assert repr(ranges) in done, f"optional {ranges} was held throughout but dropped"
