"""Run the console scripts as a user would (real subprocesses of this venv's `bin/`): ours,
`lazynwb-explorer`, and lazynwb 1.0's `lazynwb` as the oracle, in parallel.

lazynwb runs with tests/cli_oracle on PYTHONPATH (its sitecustomize lets lazynwb's obstore
reader use plain http on 127.0.0.1 and points its DANDI client at the fake API); ours is
pointed at the same servers through its config's environment variables.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
OURS = str(BIN / "lazynwb-explorer")
THEIRS = str(BIN / "lazynwb")
ORACLE_SHIM = Path(__file__).resolve().parent / "cli_oracle"
WORKERS = 4  # subprocesses at once: mostly start-up and I/O waits, fine on 2 cores


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def jsonl(self) -> list[Any]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


def run(command: str, args: Sequence[str], *, cwd: Path | str | None = None,
        env: Mapping[str, str] | None = None, timeout: float = 120) -> Result:
    """One console script run; lazynwb gets the oracle shim, both get `env` on top of ours."""
    full_env = {**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}
    if command == THEIRS:
        full_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ORACLE_SHIM), full_env.get("PYTHONPATH", "")) if p)
    done = subprocess.run([command, *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    return Result(done.returncode, done.stdout, done.stderr)


def run_many(jobs: Mapping[str, tuple[str, Sequence[str], dict[str, Any]]]) -> dict[str, Result]:
    """Run jobs {key: (command, args, run() keywords)} concurrently; results by key."""
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        futures = {key: pool.submit(run, command, args, **kw) for key, (command, args, kw) in jobs.items()}
        return {key: future.result() for key, future in futures.items()}


def parse_table(text: str) -> list[list[str]]:
    """A `a | b` table (header first, the `-+-` rule dropped) as rows of stripped cells."""
    lines = [line for line in text.splitlines() if line.strip()]
    rows = [[cell.strip() for cell in line.split(" | ")] for line in lines]
    return [row for i, row in enumerate(rows) if i != 1 or set(lines[1]) - set("-+")]
