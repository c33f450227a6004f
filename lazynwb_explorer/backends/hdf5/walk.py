"""The whole tree with every independent pointer chain advancing together: each step asks
for what all pending objects need at once, so a cold walk costs about (tree depth x pointer
levels per object) rounds, not one per object.

An object the engine does not read (an exotic datatype, a shared-message heap) does not stop
the walk: it is noted in `Tree.unsupported` and the rest of the file is still parsed, so a
file is handed to libhdf5 only once every structure the engine reads was found well formed.
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Callable
from typing import Any

from ..base import MAX_DEPTH
from .binary import FileContext
from .io import FormatError, Parser, Task, Unsupported, pool
from .messages import Link
from .objects import (
    DatasetInfo,
    Messages,
    ObjectInfo,
    Ref,
    has_attributes,
    read_attributes,
    read_structure,
)

MAX_OBJECTS = 1 << 20


@dataclasses.dataclass
class Tree:
    objects: dict[str, ObjectInfo]  # path -> parsed object (first path that reaches it)
    address_paths: dict[int, str]  # object header address -> that path
    hard_aliases: dict[str, str]  # a second path to an object -> its first path
    soft: dict[str, Link]  # soft and external links, by their path
    unsupported: dict[str, str] = dataclasses.field(default_factory=dict)  # path -> why


def child_path(parent: str, name: str) -> str:
    return f"{parent.rstrip('/')}/{name}"


DatasetHook = Callable[[str, DatasetInfo], "Task | None"]


def walk_tree(
    ctx: FileContext,
    root: int,
    on_dataset: DatasetHook | None = None,
    descend: Callable[[str], bool] | None = None,
) -> Parser[Tree]:
    """Every object below the root (with `descend`, only the objects whose paths it
    accepts: their parents still list every link). Each object's children start as soon as
    its links are known, alongside its attribute decoding; `on_dataset(path, info)` may
    start one more task per dataset (e.g. reading a small one) in the same rounds."""
    tree = Tree({}, {}, {}, {})
    scheduled = {root: "/"}

    def visit(path: str, address: int) -> Task:
        if path.count("/") > MAX_DEPTH:
            raise FormatError(f"groups nested deeper than {MAX_DEPTH} levels")

        def done(result: tuple[ObjectInfo, Messages] | None) -> list[Task]:
            if result is None:  # noted in tree.unsupported
                return []
            info, messages = result
            if info.is_datatype:  # named types are not part of an NWB tree
                return []
            tree.objects[path] = info
            tree.address_paths[address] = path

            def attrs_done(attrs: dict[str, Any] | None) -> None:
                if attrs is not None:
                    info.attrs.update(attrs)

            tasks: list[Task] = []
            if has_attributes(messages):
                tasks.append((_noting(read_attributes(ctx, messages), path, tree), attrs_done))
            if info.dataset is not None and on_dataset is not None:
                extra = on_dataset(path, info.dataset)
                if extra is not None:
                    tasks.append(extra)
            for link in info.links or ():
                if "/" in link.name or link.name in ("", ".", ".."):
                    raise FormatError(f"invalid link name {link.name!r}")
                child = child_path(path, link.name)
                if link.kind != "hard":
                    tree.soft[child] = link
                elif link.address in scheduled:
                    tree.hard_aliases[child] = scheduled[link.address]
                elif descend is not None and not descend(child):
                    continue
                else:
                    if len(scheduled) >= MAX_OBJECTS:
                        raise FormatError("more objects than any NWB file holds")
                    scheduled[link.address] = child
                    tasks.append(visit(child, link.address))
            return tasks

        return _noting(read_structure(ctx, address), path, tree), done

    yield from pool([visit("/", root)])
    return tree


def _noting(parser: Parser[Any], path: str, tree: Tree) -> Parser[Any]:
    """`parser`'s result, or None when it meets valid HDF5 the engine does not read (noted
    in the tree: the walk goes on)."""
    try:
        return (yield from parser)
    except Unsupported as exc:
        tree.unsupported.setdefault(path, str(exc))
        return None


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
