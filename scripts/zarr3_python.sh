#!/usr/bin/env bash
# Prints a Python >= 3.12 for the Zarr v3 fixture writer's venv (hdmf-zarr 0.14 needs it),
# or nothing. Tried in order: $WRITER_PYTHON, pyenv's installed 3.12 / 3.13, python3.12 and
# python3.13 on PATH. Each candidate is run once to check its version (pyenv's shims exist
# for versions that are not selected, and fail when run).
set -u
candidates=()
[ -n "${WRITER_PYTHON:-}" ] && candidates+=("$WRITER_PYTHON")
root="${PYENV_ROOT:-$HOME/.pyenv}"
for v in 3.12 3.13; do
    for p in "$root"/versions/"$v".*/bin/python; do [ -x "$p" ] && candidates+=("$p"); done
done
for name in python3.12 python3.13; do
    p="$(command -v "$name" 2>/dev/null)" && candidates+=("$p")
done
for p in "${candidates[@]}"; do
    if "$p" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
        echo "$p"
        exit 0
    fi
done
exit 0
