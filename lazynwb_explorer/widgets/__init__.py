"""The widgets layer: notebook views of NWB files (anywidget) and the Explorer composing them.

Each view is a kernel-side model answering the browser's requests (the contract is in
_base.py and widgets_js/README.md); its front end is a prebuilt ES module in
lazynwb_explorer/static (sources in widgets_js/), so no node is needed to use them. The views
are listed in registry.py and imported on first use.

May import: api, nwb, catalog, sources, errors, config, and the data types of backends/base;
never a concrete backend or the transport (views read through nwb/ and api/).
"""

from __future__ import annotations

import importlib

from .registry import VIEWS

__all__ = sorted(VIEWS)


def __getattr__(name: str) -> object:  # PEP 562: a view's module is imported on first use
    if name in VIEWS:
        return getattr(importlib.import_module(f".{VIEWS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
