"""The attack harness: a victim call runs in a child process of its own, under an address-space
cap and a wall-clock timeout, so an abort, a hang or a runaway allocation is a test failure
with a clear outcome, never a crashed or stuck test runner.

    victim = run_victim("return lazynwb.get_internal_paths(URL)", URL=url)
    victim.refused("SourceError", "ignores Range")

The body is the inside of a function (`lazynwb`, `pl`, `np`, `config` and the keyword
arguments are in scope); its return value comes back as JSON (or its repr). The child
inherits the test session's environment (its cache and key directories).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MARK = "@@victim@@"

_CHILD = """
import faulthandler, json, os, resource, sys, time, traceback
faulthandler.dump_traceback_later({dump_after}, exit=True)  # a hang shows where it hangs
sys.path.insert(0, {here!r})
import numpy as np
import polars as pl
import lazynwb_explorer as lazynwb
from lazynwb_explorer.config import config

for _name, _value in {settings!r}.items():
    setattr(config, _name, _value)
{names}

def _cap(headroom):
    size = 0
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            size = int(line.split()[1]) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (size + headroom, resource.RLIM_INFINITY))

def victim():
{body}

def _chain(exc):
    out, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        out.append(f"{{type(exc).__name__}}: {{exc}}")
        exc = exc.__cause__ or exc.__context__
    return out

_cap({headroom})
_started = time.monotonic()
try:
    _value = victim()
    _out = {{"ok": True, "value": _value}}
except BaseException as _exc:
    _out = {{"ok": False, "type": type(_exc).__name__,
             "types": [c.__name__ for c in type(_exc).__mro__], "message": str(_exc),
             "chain": _chain(_exc), "traceback": traceback.format_exc()[-4000:]}}
_out["seconds"] = time.monotonic() - _started
print({mark!r} + json.dumps(_out, default=repr), flush=True)
"""


@dataclasses.dataclass
class Victim:
    """What happened to the child: its result, or that it crashed or hung."""

    returncode: int | None
    hung: bool
    seconds: float
    result: dict[str, Any] | None
    stderr: str

    @property
    def crashed(self) -> bool:
        return not self.hung and self.result is None

    def describe(self) -> str:
        if self.hung:
            return f"hung: killed after {self.seconds:.0f} s; stderr: {self.stderr[-3000:]}"
        if self.result is None:
            return f"crashed or stopped by its watchdog: exit {self.returncode}; stderr: {self.stderr[-3000:]}"
        if self.result["ok"]:
            return f"returned in {self.result['seconds']:.1f} s: {str(self.result['value'])[:600]}"
        return (f"raised {self.result['type']} in {self.result['seconds']:.1f} s: "
                f"{self.result['message'][:600]}\n{self.result['traceback'][-1500:]}")

    @property
    def value(self) -> Any:
        assert self.result is not None and self.result["ok"], self.describe()
        return self.result["value"]

    def refused(self, error: str = "LazyNWBError", *needles: str, within: float | None = None) -> str:
        """Assert the call raised `error` (a class name in its MRO) whose message holds every
        needle, and (optionally) within `within` seconds; returns the message."""
        assert self.result is not None and not self.result["ok"], self.describe()
        assert error in self.result["types"], self.describe()
        message = self.result["message"]
        for needle in needles:
            assert needle in message, self.describe()
        if within is not None:
            assert self.result["seconds"] <= within, self.describe()
        for bare in ("RecursionError", "MemoryError"):
            assert not any(link.startswith(bare) for link in self.result["chain"]), self.describe()
        return message


def run_victim(
    body: str,
    *,
    headroom_mb: int = 3072,
    timeout: float = 180.0,
    settings: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    **names: Any,
) -> Victim:
    """Run `body` (a function body) in a child process capped at its start-up address space
    plus `headroom_mb`, killed after `timeout` seconds. `names` become globals of the child
    (their reprs); `settings` are set on lazynwb.config before the call."""
    code = _CHILD.format(
        here=str(HERE), settings=settings or {}, headroom=headroom_mb << 20, mark=MARK,
        dump_after=max(1.0, timeout - 3),
        names="\n".join(f"{k} = {v!r}" for k, v in names.items()),
        body=textwrap.indent(textwrap.dedent(body).strip(), "    "),
    )
    started = time.monotonic()
    child_env = {**os.environ, "MALLOC_ARENA_MAX": "2", **(env or {})}
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=timeout, env=child_env)
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return Victim(None, True, time.monotonic() - started, None, stderr)
    result = None
    for line in done.stdout.splitlines():
        if line.startswith(MARK):
            result = json.loads(line[len(MARK):])
    return Victim(done.returncode, False, time.monotonic() - started, result, done.stderr)
