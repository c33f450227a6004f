"""The console command `lazynwb-explorer`: lazynwb 1.0's command line on this package's
reader, plus `tree` (a file's contents in the terminal) and `open` (the Explorer in
JupyterLab). It uses only the package's public API.

One module per job: app (argument parsing, errors, exit codes), failures (error codes),
project_config (lazynwb.toml), sources (which files), output (JSON and tables), and one
module per family of commands.
"""

from .app import main

__all__ = ["main"]
