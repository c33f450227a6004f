"""Sans-IO parsing: parsers say which bytes they need, a driver fetches them in rounds.

A parser is a generator that yields a list of byte ranges ``[(offset, length), ...]`` and
is sent back the list of their bytes. It never touches a file itself, so:
- `gather(parsers)` runs many parsers side by side: at every step it asks for the union of
  what they all need, so walking 40 object headers costs one round, not 40;
- the same parsers run over a local file, an HTTP server or an object store (`run`), and over
  bytes in memory (the fuzzer).

HDF5's pointer chain (superblock -> object header -> B-tree -> heap -> child header ...) is
then read one concurrent round per level of the chain, instead of one request per pointer.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
Ranges = list[tuple]  # (offset, length) for metadata; (offset, length, DATA | INDEX) otherwise
Parser = Generator[Ranges, list[bytes], T]


class FormatError(Exception):
    """The bytes do not follow the HDF5 format (truncated, corrupt, hostile)."""


class Unsupported(Exception):
    """Valid HDF5 this engine does not read; the caller falls back to libhdf5."""


class Refused(Exception):
    """Valid HDF5 whose values lie outside the file (external raw storage, a virtual
    dataset): never read, by this engine or by libhdf5 on its behalf."""


def fetch(offset: int, length: int) -> Parser[bytes]:
    """The bytes [offset, offset + length) (shorter only at the end of the file)."""
    return (yield [(offset, length)])[0]


def fetch_many(ranges: Sequence[tuple[int, int]]) -> Parser[list[bytes]]:
    if not ranges:
        return []
    return (yield list(ranges))


DATA = "data"
INDEX = "index"
CHECK = "check"
HELD = "held"  # a probe: the bytes when the driver holds them already, else None; no fetch


def check_source() -> Parser[bytes]:
    """One byte fetched from the source itself, never from a cache: the request carries
    If-Match, so it confirms the file is the version its catalog describes."""
    return (yield [(0, 1, CHECK)])[0]


def fetch_data(ranges: Sequence[tuple[int, int]]) -> Parser[list[bytes]]:
    """Like fetch_many, for data: the driver fetches exactly these bytes (no block rounding,
    no caching) so a read costs the bytes it needs."""
    if not ranges:
        return []
    return (yield [(o, n, DATA) for o, n in ranges])


def fetch_index(ranges: Sequence[tuple[int, int]]) -> Parser[list[bytes]]:
    """Like fetch_many, for chunk-index nodes: cached, but without the read-ahead window
    metadata gets (index nodes sit between data, not in metadata clusters)."""
    if not ranges:
        return []
    return (yield [(o, n, INDEX) for o, n in ranges])


def gather(parsers: Sequence[Parser[Any]]) -> Parser[list[Any]]:
    """Run parsers concurrently; their results in order. Each step asks for every pending
    parser's ranges at once."""
    results: list[Any] = [None] * len(parsers)
    pending: dict[int, Ranges] = {}
    for i in range(len(parsers)):
        _advance(parsers, results, pending, i, None)
    while pending:
        order = list(pending.items())
        flat = [r for _, ranges in order for r in ranges]
        datas = yield flat
        if len(datas) != len(flat):
            raise FormatError("driver answered the wrong number of ranges")
        pos = 0
        pending = {}
        for i, ranges in order:
            _advance(parsers, results, pending, i, datas[pos : pos + len(ranges)])
            pos += len(ranges)
    return results


Task = tuple[Parser[Any], Callable[[Any], "Sequence[Task] | None"]]


def optional(task: Task) -> tuple[Parser[Any], Callable[[Any], Any], bool]:
    """`task` marked as worth doing only for free: `pool` runs it while its bytes are held
    already or come in a round the other tasks make anyway, and drops it when it alone would
    cost a round (with the tasks it started)."""
    return (*task, True)


def pool(tasks: Sequence[Task]) -> Parser[None]:
    """Run (parser, on_done) tasks concurrently, where on_done(result) may start more tasks:
    a new task joins the very next step, so independent chains of pointers (one object's
    attributes, its children's headers) advance together instead of level by level.
    While `optional` tasks run, each step first probes the driver (HELD) for what every task
    needs: tasks whose bytes are all held advance without a fetch, and a fetch is made only
    for a task that is not optional."""
    active: list[list[Any]] = []

    def start(parser: Parser[Any], on_done: Callable[[Any], Any], is_optional: bool = False) -> None:
        try:
            active.append([parser, on_done, list(next(parser)), is_optional])
        except StopIteration as stop:
            finish(on_done, stop.value, is_optional)

    def finish(on_done: Callable[[Any], Any], value: Any, is_optional: bool) -> None:
        for task in on_done(value) or ():
            if is_optional and len(task) == 2:  # what an optional task starts is optional too
                task = optional(task)
            start(*task)

    def advance(entry: list[Any], part: list[bytes]) -> None:
        parser, on_done, _, is_optional = entry
        try:
            active.append([parser, on_done, list(parser.send(part)), is_optional])
        except StopIteration as stop:
            finish(on_done, stop.value, is_optional)

    for task in tasks:
        start(*task)
    while active:
        if any(entry[3] for entry in active):
            current, active[:] = list(active), []
            probe = [(r[0], r[1], HELD) for entry in current for r in entry[2]]
            answers = yield probe
            if len(answers) != len(probe):
                raise FormatError("driver answered the wrong number of ranges")
            waiting, pos = [], 0
            for entry in current:
                part = answers[pos : pos + len(entry[2])]
                pos += len(entry[2])
                held = all(p is not None for p in part) and all(len(r) < 3 or r[2] != CHECK for r in entry[2])
                if held:
                    advance(entry, part)
                else:
                    waiting.append(entry)
            if len(waiting) < len(current):  # some advanced: probe their next steps too
                active.extend(waiting)
                continue
            if all(entry[3] for entry in waiting):  # only optional work left, none of it free
                for entry in waiting:
                    entry[0].close()
                return
            active[:] = waiting
        current, active[:] = list(active), []
        flat = [r for entry in current for r in entry[2]]
        datas = yield flat
        if len(datas) != len(flat):
            raise FormatError("driver answered the wrong number of ranges")
        pos = 0
        for entry in current:
            part = datas[pos : pos + len(entry[2])]
            pos += len(entry[2])
            advance(entry, part)


def _advance(parsers, results, pending, i, value) -> None:  # noqa: ANN001 - internal
    try:
        ranges = parsers[i].send(value)
    except StopIteration as stop:
        results[i] = stop.value
        return
    pending[i] = list(ranges)


def run(parser: Parser[T], read_round: Callable[[Ranges], list[Any]]) -> T:
    """Drive a parser to its result; `read_round` answers one step's ranges (one round)."""
    try:
        ranges = next(parser)
        while True:
            ranges = parser.send(read_round(list(ranges)))
    except StopIteration as stop:
        return stop.value


def over_bytes(data: bytes) -> Callable[[Ranges], list[bytes]]:
    """A `read_round` over bytes in memory (tests, fuzzing): every byte is held."""
    return lambda ranges: [data[r[0] : r[0] + r[1]] if r[0] >= 0 else b"" for r in ranges]
