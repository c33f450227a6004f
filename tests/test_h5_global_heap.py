"""Global heap collections: objects found on demand, in any order, against an oracle.

`Collection.get` scans a collection only as far as the object asked for and keeps where
each object it passed starts. The oracle here is the collection's object list as written
(index -> bytes), so any order of look-ups, repeated or missing indexes, free space and
lengths of 0 must give exactly what was written, or the default.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lazynwb_explorer.backends.hdf5.binary import FileContext
from lazynwb_explorer.backends.hdf5.globalheap import Collection
from lazynwb_explorer.backends.hdf5.io import FormatError

LENGTH_CODES = {4: "I", 8: "Q"}


def collection_bytes(objects: list[tuple[int, bytes]], length_size: int, free_space: bool) -> bytes:
    """A GCOL block as the HDF5 spec lays it out: header, objects (16 + data, padded to 8
    for 8-byte lengths), then optionally object 0 (free space) for the rest."""
    code = LENGTH_CODES[length_size]
    head = struct.Struct(f"<HH4x{code}")
    body = b"".join(
        head.pack(index, 1, len(data)) + data + b"\0" * (-len(data) % 8) for index, data in objects
    )
    if free_space:
        body += head.pack(0, 0, 8 + head.size) + b"\0" * 8
    size = 8 + length_size + len(body)
    return b"GCOL" + bytes([1, 0, 0, 0]) + struct.pack(f"<{code}", size) + body


objects_strategy = st.lists(
    st.tuples(st.integers(1, 400), st.binary(max_size=40)), max_size=60, unique_by=lambda o: o[0]
)


@settings(max_examples=300, deadline=None)
@given(
    objects=objects_strategy,
    length_size=st.sampled_from([4, 8]),
    free_space=st.booleans(),
    data=st.data(),
)
def test_objects_in_any_order_are_what_was_written(objects, length_size, free_space, data):
    ctx = FileContext(length_size=length_size)
    collection = Collection(collection_bytes(objects, length_size, free_space), ctx)
    written = dict(objects)
    # mostly indexes that exist (each look-up stops a scan part-way), some that do not
    ask = st.integers(0, 420) if not written else st.sampled_from(sorted(written)) | st.integers(0, 420)
    for index in data.draw(st.lists(ask, max_size=80)) + [i for i, _ in reversed(objects)]:
        assert collection.get(index, b"missing") == written.get(index, b"missing")


def test_object_running_past_its_collection_is_a_format_error():
    data = bytearray(collection_bytes([(1, b"abc"), (2, b"defgh")], 8, free_space=False))
    struct.pack_into("<Q", data, 16 + 16 + 8 + 8, 1 << 20)  # object 2's length
    collection = Collection(bytes(data), FileContext())
    assert collection.get(1) == b"abc"
    with pytest.raises(FormatError):
        collection.get(2)
    assert collection.get(1) == b"abc"  # what was found before stays readable
    assert collection.get(3) is None
