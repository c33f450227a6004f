"""Paths in an h5py file resolved link by link, so that none leaves the file unasked.

libhdf5 follows whatever a file names: `file[path]` opens another file for an external link
met anywhere along the path (a soft link may lead through one too), and reading a dataset
reads other files for its external raw storage or virtual mappings. Here each component's
link class is looked at (h5py's get(name, getlink=True)) before the object is opened, soft
links are resolved by us (at most MAX_SOFT_LINKS), and `outside_reason` says, from the
dataset's creation properties, whether its values lie outside the file.
"""

from __future__ import annotations

import posixpath

import h5py

MAX_SOFT_LINKS = 32  # soft links followed to resolve one path


class OutsideReference(Exception):
    """Resolving a path would leave the file (an external link); the text says how."""


def outside_reason(ds: h5py.Dataset) -> str | None:
    """Why a dataset's values lie outside its file, if they do."""
    if ds.is_virtual:
        return "it is a virtual dataset (its values are mapped from other files)"
    if ds.external:
        return "its values are stored in other files (HDF5 external raw storage)"
    return None


def follow(
    file: h5py.File, group: h5py.Group, path: str, name: str, follows: bool, hops: int = 0
) -> tuple[h5py.HLObject, bool]:
    """(the object `name` in `group` (at `path`) names, whether through a link). An external
    link raises OutsideReference unless `follows`."""
    link = group.get(name, getlink=True)
    if link is None:
        raise KeyError(name)
    if isinstance(link, h5py.ExternalLink):
        if not follows:
            raise OutsideReference(f"it is an external link to '{link.filename}:{link.path}'")
        return group[name], True
    if isinstance(link, h5py.SoftLink):
        if hops >= MAX_SOFT_LINKS:
            raise ValueError("soft links lead on and on")
        return lookup(file, posixpath.join(path, link.path), follows, hops + 1), True
    if not isinstance(link, h5py.HardLink):
        raise OutsideReference(f"it is a link of another kind ({type(link).__name__})")
    return group[name], False


def lookup(file: h5py.File, path: str, follows: bool, hops: int = 0) -> h5py.HLObject:
    """The object at an absolute path, link by link (see follow)."""
    obj: h5py.HLObject = file
    current = "/"
    for part in posixpath.normpath(path).strip("/").split("/"):
        if not part:
            continue
        if not isinstance(obj, h5py.Group):
            raise KeyError(path)
        obj, _ = follow(file, obj, current, part, follows, hops)
        current = posixpath.join(current, part)
    return obj
