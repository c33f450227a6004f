"""Object headers (v1 and v2) and their continuation blocks -> the object's messages.

A header's first block is fetched speculatively (most headers are small); continuation
blocks found in one block are fetched together in the next round.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from .binary import Cursor, FileContext
from .io import FormatError, Parser, fetch, fetch_many

CONTINUATION = 0x0010
FIRST_READ = 1024  # bytes fetched for a header before its size is known
MAX_BLOCKS = 4096  # continuation blocks per header: more means a cycle or a hostile file
MAX_BLOCK_BYTES = 1 << 26


class Message(NamedTuple):
    type: int
    flags: int  # bit 1: shared (the data is a reference to the real message)
    data: bytes


def read_object_header(ctx: FileContext, address: int) -> Parser[list[Message]]:
    """All messages of the object header at `address`, continuations followed."""
    ctx.check_address(address, "object header")
    head = yield from fetch(address, FIRST_READ)
    if head[:4] == b"OHDR":
        messages, pending, creation_order = yield from _v2_first(ctx, address, head)
    else:
        messages, pending = yield from _v1_first(ctx, address, head)
        creation_order = False
    seen = {address}
    blocks = 0
    while pending:
        blocks += len(pending)
        if blocks > MAX_BLOCKS:
            raise FormatError("object header has too many continuation blocks")
        for addr, _ in pending:
            if addr in seen:
                raise FormatError("object header continuation cycle")
            seen.add(addr)
        datas = yield from fetch_many(pending)
        next_pending: list[tuple[int, int]] = []
        for (addr, length), data in zip(pending, datas):
            if len(data) < length:
                raise FormatError(f"continuation block at {addr} truncated")
            if head[:4] == b"OHDR":
                c = Cursor(data, ctx)
                c.signature(b"OCHK")
                found = _v2_messages(c, length - 4, creation_order)
            else:
                found = _v1_messages(Cursor(data, ctx), length)
            messages.extend(found)
            next_pending.extend(_continuations(ctx, found))
        pending = next_pending
    return [m for m in messages if m.type != CONTINUATION]


def _continuations(ctx: FileContext, messages: list[Message]) -> list[tuple[int, int]]:
    out = []
    for m in messages:
        if m.type == CONTINUATION:
            c = Cursor(m.data, ctx)
            addr, length = c.address(), c.length()
            ctx.check_address(addr, "object header continuation")
            if not 0 < length <= MAX_BLOCK_BYTES:
                raise FormatError(f"continuation block of {length} bytes")
            out.append((addr, length))
    return out


def _v1_first(ctx: FileContext, address: int, head: bytes) -> Parser[tuple[list[Message], list]]:
    if len(head) < _V1_PREFIX.size:
        raise FormatError(f"object header at {address} truncated")
    # the number of messages is not used: the blocks are read to their ends instead
    version, _, _, size = _V1_PREFIX.unpack_from(head)
    if version != 1:
        raise FormatError(f"object header version {version} at {address}")
    if size > MAX_BLOCK_BYTES:
        raise FormatError(f"object header of {size} bytes")
    if len(head) < 16 + size:
        head = head + (yield from fetch(address + len(head), 16 + size - len(head)))
        if len(head) < 16 + size:
            raise FormatError(f"object header at {address} truncated")
    messages = _v1_messages(Cursor(head[16 : 16 + size], ctx), size)
    return messages, _continuations(ctx, messages)


_V1_PREFIX = struct.Struct("<BxHII4x")  # version, messages, reference count, size, padding
_V1_MESSAGE = struct.Struct("<HHB3x")  # type, size, flags, reserved


def _v1_messages(c: Cursor, end: int) -> list[Message]:
    """The messages of a v1 block, each 8-aligned from the block's start (one struct
    unpack per message header: a walk reads thousands)."""
    out = []
    data, pos = c.data, c.pos
    end = min(end, len(data))
    while pos + 8 <= end:
        mtype, size, flags = _V1_MESSAGE.unpack_from(data, pos)
        pos += 8
        if pos + size > len(data):
            raise FormatError(f"structure truncated: wanted {size} bytes at {pos} of {len(data)}")
        out.append(Message(mtype, flags, data[pos : pos + size]))
        pos += size + (-size % 8)
    c.pos = pos
    return out


def _v2_first(ctx: FileContext, address: int, head: bytes) -> Parser[tuple[list[Message], list, bool]]:
    c = Cursor(head, ctx)
    c.signature(b"OHDR")
    version = c.u8()
    if version != 2:
        raise FormatError(f"object header version {version} at {address}")
    flags = c.u8()
    if flags & 0x20:
        c.skip(16)  # access, modification, change, birth times
    if flags & 0x10:
        c.skip(4)  # attribute storage phase change values
    size = c.uint(1 << (flags & 3))
    if size > MAX_BLOCK_BYTES:
        raise FormatError(f"object header of {size} bytes")
    start = c.pos
    total = start + size + 4  # + checksum
    if len(head) < total:
        head = head + (yield from fetch(address + len(head), total - len(head)))
        if len(head) < total:
            raise FormatError(f"object header at {address} truncated")
    c = Cursor(head, ctx, start)
    messages = _v2_messages(c, start + size, bool(flags & 0x04))
    return messages, _continuations(ctx, messages), bool(flags & 0x04)


def _v2_messages(c: Cursor, end: int, creation_order: bool) -> list[Message]:
    out = []
    header = 6 if creation_order else 4
    while c.pos + header <= end:
        mtype, size, flags = c.u8(), c.u16(), c.u8()
        if creation_order:
            c.skip(2)
        if c.pos + size > end:
            raise FormatError("object header message runs past its block")
        out.append(Message(mtype, flags, c.bytes(size)))
    return out
