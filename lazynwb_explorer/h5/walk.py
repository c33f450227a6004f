"""The whole tree, one level at a time: every object of a level is parsed together, so a
cold walk costs about (tree depth x pointer levels per object) rounds, not one per object."""

from __future__ import annotations

import dataclasses
import posixpath
from typing import Any

from .binary import FileContext
from .io import FormatError, Parser, gather
from .messages import Link
from .objects import ObjectInfo, Ref, read_object

MAX_OBJECTS = 1 << 20


@dataclasses.dataclass
class Tree:
    objects: dict[str, ObjectInfo]  # path -> parsed object (first path that reaches it)
    address_paths: dict[int, str]  # object header address -> that path
    hard_aliases: dict[str, str]  # a second path to an object -> its first path
    soft: dict[str, Link]  # soft and external links, by their path


def child_path(parent: str, name: str) -> str:
    return f"{parent.rstrip('/')}/{name}"


def walk_tree(ctx: FileContext, root: int) -> Parser[Tree]:
    tree = Tree({}, {}, {}, {})
    level = [("/", root)]
    scheduled = {root: "/"}
    while level:
        infos = yield from gather([read_object(ctx, address) for _, address in level])
        next_level = []
        for (path, address), info in zip(level, infos):
            if info.is_datatype:  # named types are not part of an NWB tree
                continue
            tree.objects[path] = info
            tree.address_paths[address] = path
            for link in info.links or ():
                if "/" in link.name or link.name in ("", ".", ".."):
                    raise FormatError(f"invalid link name {link.name!r}")
                child = child_path(path, link.name)
                if link.kind != "hard":
                    tree.soft[child] = link
                elif link.address in scheduled:
                    tree.hard_aliases[child] = scheduled[link.address]
                else:
                    scheduled[link.address] = child
                    next_level.append((child, link.address))
        if len(scheduled) > MAX_OBJECTS:
            raise FormatError("more objects than any NWB file holds")
        level = next_level
    return tree


def soft_target(path: str, link: Link) -> str:
    """The absolute path a soft link points to."""
    target = link.target
    if not target.startswith("/"):
        target = posixpath.join(posixpath.dirname(path), target)
    return posixpath.normpath(target) if target != "/" else "/"


def resolve_refs(value: Any, address_paths: dict[int, str]) -> Any:
    if isinstance(value, Ref):
        return address_paths.get(value.address)
    if isinstance(value, list):
        return [resolve_refs(v, address_paths) for v in value]
    if isinstance(value, dict):
        return {k: resolve_refs(v, address_paths) for k, v in value.items()}
    return value
