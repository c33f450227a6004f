"""`paths`, `config init` and `config show`: which files the other commands would read, and
the project's lazynwb.toml."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from . import project_config
from .output import write_json, write_table
from .project_config import ProjectConfig
from .sources import Overrides, ResolvedSource, resolve, source_paths


def overrides_from(args: argparse.Namespace, paths: tuple[str, ...]) -> Overrides:
    return Overrides(
        paths=paths,
        local_root=getattr(args, "local_root", None),
        local_glob=getattr(args, "local_glob", None),
        dandiset_id=getattr(args, "dandi_dandiset_id", None),
        dandi_version=getattr(args, "dandi_version", None),
        dandi_path_pattern=getattr(args, "dandi_path_pattern", None),
        anonymous_s3=getattr(args, "dandi_anonymous_s3", None),
    )


def sources_for(args: argparse.Namespace) -> tuple[ProjectConfig, ResolvedSource, tuple[dict[str, str], ...]]:
    """The config, the chosen source and its paths (DANDI listed) for a data command."""
    config = project_config.load(args.config)
    source = resolve(config, overrides_from(args, tuple(args.paths)))
    return config, source, source_paths(source)


def resolved_uris(paths: tuple[dict[str, str], ...]) -> tuple[str, ...]:
    return tuple(p["resolved"] for p in paths)


def handle_paths(args: argparse.Namespace, stdout: TextIO) -> int:
    config, source, paths = sources_for(args)
    if (args.output_format or config.paths_format) == "table":
        write_table(stdout, ("input", "resolved"), [(p["input"], p["resolved"]) for p in paths])
    else:
        write_json(stdout, {"command": "paths", "paths": list(paths), "source": source.to_json(paths)})
    return 0


def handle_config_init(args: argparse.Namespace, stdout: TextIO) -> int:
    path = project_config.write_template(args.config, force=args.force)
    write_json(stdout, {"command": "config init",
                        "config": {"path": path.as_posix(), "version": project_config.CONFIG_VERSION}})
    return 0


def handle_config_show(args: argparse.Namespace, stdout: TextIO) -> int:
    config = project_config.load(args.config)
    source = resolve(config, overrides_from(args, tuple(args.source_paths or ())))
    payload: dict[str, Any] = {"command": "config show", "commands": config.commands_json(),
                               "config": config.to_json(), "source": source.to_json()}
    write_json(stdout, payload)
    return 0
