"""`python -m lazynwb_explorer.cli ...`, the same as `lazynwb-explorer ...`."""

from .app import main

raise SystemExit(main())
