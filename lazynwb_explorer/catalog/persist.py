"""A Catalog to and from its stored form (catalog/store.py keeps the files).

What is stored: the source's identity (local: catalog/identity.py; remote: what the server
reported: the ETag, else Last-Modified and a fingerprint of the first bytes), the tree, the
small arrays reads learned, and the backend's exported state. When it is trusted: a local
catalog while the file's identity is unchanged; a remote one for `config.catalog_max_age`
seconds after it was last validated (DANDI blobs, told by their URL, for ever; an imported
one only once checked against the server), then after one small request that re-validates
it. A catalog is stored again when it learned something worth keeping (`signature` grew).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..backends.open import reopen
from ..errors import get_logger
from ..sources import Source
from . import store
from .catalog import Catalog

log = get_logger(__name__)


def from_store(source: Source, identity: tuple, scope: str = store.FULL) -> Catalog | None:
    """The stored catalog, if there is one and the source has not changed since."""
    payload = store.load(source.uri, scope)
    if payload is None:
        return None
    try:
        if not source.is_remote:
            if tuple(payload["identity"]) != identity:
                store.drop(source.uri, scope)
                return None
        elif not store.is_fresh(payload, source.uri) and not _revalidate(source, payload, scope):
            store.drop(source.uri, scope)
            return None
        if source.is_remote:
            source.reader().expect(payload["identity"])
        kind, state = payload["kind"], payload.get("state")
        nodes = store.nodes_from_json(payload["nodes"])
        outside = {p: n for p, n in nodes.items() if n.outside}
        catalog = Catalog(
            source, None, nodes, opener=lambda: reopen(source, kind, state, outside), kind=kind,
        )
        catalog.small_arrays.update(store.arrays_from_json(payload.get("arrays", {})))
        scopes = payload.get("scopes")
        catalog.scopes = None if scopes is None else frozenset(str(s) for s in scopes)
    except (KeyError, TypeError, ValueError) as exc:  # a stored catalog of another version
        log.warning("stored catalog of %s is unusable (%s): rebuilding it", source.label, exc)
        store.drop(source.uri, scope)
        return None
    catalog.identity = payload["identity"]
    catalog._saved_signature = signature(catalog)
    return catalog


def _revalidate(source: Source, payload: dict[str, Any], scope: str) -> bool:
    """One small request: is the remote object still the one the catalog describes?"""
    if not source.reader().matches(payload["identity"]):
        return False
    payload["validated_at"] = time.time()
    payload.pop("imported", None)
    store.save(source.uri, payload, scope)
    return True


def signature(catalog: Catalog) -> tuple:
    """Changes when the catalog learned something worth storing (index arrays, chunk maps,
    an array that grew: a spike column's known points)."""
    backend = catalog._backend
    arrays = list(catalog.small_arrays.values())
    return (len(arrays), sum(int(np.size(a)) for a in arrays),
            backend.learned() if backend is not None else 0)


def save(catalog: Catalog, identity: tuple, scope: str = store.FULL) -> None:
    """Store the catalog (on the writer thread); not when the source has no identity to be
    recognised by later."""
    source = catalog.source
    if source.is_remote:
        catalog.identity = source.reader().identity()
        if not catalog.identity:
            return
    else:
        catalog.identity = list(identity)
        if not identity:
            return
    backend = catalog._backend
    state = backend.export_state() if backend is not None else None  # a snapshot
    identity_now, kind, nodes = catalog.identity, catalog.kind, dict(catalog.nodes)
    arrays = dict(catalog.small_arrays)
    scopes = None if catalog.scopes is None else sorted(catalog.scopes)
    validated_at = time.time()

    def payload() -> dict[str, Any]:  # encoded on the writer thread
        return {
            "identity": identity_now,
            "kind": kind,
            "nodes": store.nodes_to_json(nodes),
            "state": state,
            "arrays": store.arrays_to_json(arrays),
            "validated_at": validated_at,
            "scopes": scopes,
        }

    store.save_later(source.uri, payload, scope)
    catalog._saved_signature = signature(catalog)


def save_if_grown(catalog: Catalog) -> None:
    """Store the catalog again when it learned something since it was stored."""
    if catalog.identity and signature(catalog) != catalog._saved_signature:
        scope = store.FULL if catalog.scopes is None else store.PATHS
        save(catalog, tuple(catalog.identity) if not catalog.source.is_remote else (), scope)
