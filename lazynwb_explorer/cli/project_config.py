"""lazynwb.toml: the project-local settings file lazynwb 1.0's CLI reads, read the same way.

Found as `lazynwb.toml` in the working directory or the nearest parent (or named with
--config); relative paths inside it are relative to the file. Version 1, with the same
tables and keys, the same validation (unknown keys and wrong types are errors naming the
field), so one file serves `lazynwb` and `lazynwb-explorer` alike:

    version = 1
    [source]        paths = [...]
    [source.local]  root, glob
    [source.dandi]  dandiset_id, version, path_pattern, anonymous_s3
    [commands.paths] format = "json" | "table"
"""

from __future__ import annotations

import dataclasses
import pathlib
import sys
from typing import Any, NoReturn

from .failures import CLIError, ErrorCode

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_VERSION = 1
CONFIG_FILENAME = "lazynwb.toml"

TEMPLATE = """version = 1

# Which NWB files the commands read when no PATH is given on the command line.
# The first of these that is set wins: paths, then local, then dandi.
[source]
paths = []

[source.local]
# root = "data"          # relative to this file
# glob = "**/*.nwb"

[source.dandi]
# dandiset_id = "000363"
# version = "draft"
# path_pattern = "sub-*/*.nwb"
anonymous_s3 = true

[commands.paths]
format = "json"
"""


@dataclasses.dataclass(frozen=True)
class LocalSource:
    root: str | None = None
    glob: str | None = None


@dataclasses.dataclass(frozen=True)
class DandiSource:
    dandiset_id: str | None = None
    version: str | None = None
    path_pattern: str | None = None
    anonymous_s3: bool = True


@dataclasses.dataclass(frozen=True)
class SourceSettings:
    paths: tuple[str, ...] = ()
    local: LocalSource = dataclasses.field(default_factory=LocalSource)
    dandi: DandiSource = dataclasses.field(default_factory=DandiSource)


@dataclasses.dataclass(frozen=True)
class ProjectConfig:
    """The file as read (or the defaults when there is none)."""

    path: pathlib.Path
    exists: bool
    source: SourceSettings = dataclasses.field(default_factory=SourceSettings)
    paths_format: str = "json"
    version: int = CONFIG_VERSION

    @property
    def base_dir(self) -> pathlib.Path:
        return self.path.parent

    def to_json(self) -> dict[str, Any]:
        """The `config` object of lazynwb's output."""
        return {"exists": self.exists, "path": self.path.as_posix(), "version": self.version}

    def commands_json(self) -> dict[str, Any]:
        return {"paths": {"format": self.paths_format}}


def _as_path(path: str, cwd: pathlib.Path) -> pathlib.Path:
    expanded = pathlib.Path(path).expanduser()
    return expanded if expanded.is_absolute() else cwd / expanded


def find_config(config_path: str | None, cwd: pathlib.Path | None = None) -> tuple[pathlib.Path, bool]:
    """The file to read and whether it was named explicitly: --config, else the nearest
    lazynwb.toml from the working directory up, else (absent) one in the working directory."""
    cwd = pathlib.Path.cwd() if cwd is None else cwd
    if config_path is not None:
        return _as_path(config_path, cwd).resolve(strict=False), True
    for directory in (cwd, *cwd.parents):
        candidate = directory / CONFIG_FILENAME
        if candidate.exists():
            return candidate.resolve(strict=False), False
    return (cwd / CONFIG_FILENAME).resolve(strict=False), False


def load(config_path: str | None, cwd: pathlib.Path | None = None) -> ProjectConfig:
    """Read and validate the project's lazynwb.toml (defaults when there is none)."""
    path, explicit = find_config(config_path, cwd)
    if not path.exists():
        if explicit:
            raise CLIError(code=ErrorCode.CONFIG_NOT_FOUND, details={"path": path.as_posix()},
                           message="The requested lazynwb config file does not exist.")
        return ProjectConfig(path=path, exists=False)
    try:
        with path.open("rb") as stream:
            data = tomllib.load(stream)
    except tomllib.TOMLDecodeError as exc:
        raise CLIError(code=ErrorCode.CONFIG_PARSE_ERROR, details={"path": path.as_posix()},
                       message="The lazynwb config file is not valid TOML.", reason=str(exc)) from exc
    return _parse(data, path)


def write_template(config_path: str | None, *, force: bool, cwd: pathlib.Path | None = None) -> pathlib.Path:
    """`config init`: write the commented template (never over an existing file unless force)."""
    cwd = pathlib.Path.cwd() if cwd is None else cwd
    path = (cwd / CONFIG_FILENAME if config_path is None else _as_path(config_path, cwd)).resolve(strict=False)
    if path.exists() and not force:
        raise CLIError(code=ErrorCode.CONFIG_ALREADY_EXISTS, details={"path": path.as_posix()},
                       message="The lazynwb config file already exists.")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TEMPLATE, encoding="utf-8")
    return path


# -- validation, field by field, with lazynwb's messages --------------------------------------
def _invalid(path: pathlib.Path, field: str, message: str) -> NoReturn:
    raise CLIError(code=ErrorCode.CONFIG_INVALID, details={"field": field, "path": path.as_posix()},
                   message=message)


def _table(value: object, path: pathlib.Path, field: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        _invalid(path, field, f"{field} must be a TOML table.")
    unknown = sorted(key for key in value if key not in allowed)
    if unknown:
        name = f"{field}.{unknown[0]}" if field else unknown[0]
        _invalid(path, name, f"Unknown lazynwb config key: {name}.")
    return value


def _optional_str(value: object, path: pathlib.Path, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        _invalid(path, field, f"{field} must be a string.")
    if value == "":
        _invalid(path, field, f"{field} must not be empty.")
    return value


def _str_list(value: object, path: pathlib.Path, field: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        _invalid(path, field, f"{field} must be a list of strings.")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            _invalid(path, f"{field}[{index}]", f"{field} must be a list of strings.")
    return tuple(value)


def _parse(data: dict[str, Any], path: pathlib.Path) -> ProjectConfig:
    _table(data, path, "", ("version", "source", "commands"))
    version = data.get("version", CONFIG_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        _invalid(path, "version", "Config version must be an integer.")
    if version != CONFIG_VERSION:
        _invalid(path, "version", f"Unsupported lazynwb config version: {version}.")

    source = _table(data.get("source", {}), path, "source", ("paths", "local", "dandi"))
    local = _table(source.get("local", {}), path, "source.local", ("root", "glob"))
    dandi = _table(source.get("dandi", {}), path, "source.dandi",
                   ("dandiset_id", "version", "path_pattern", "anonymous_s3"))
    anonymous = dandi.get("anonymous_s3", True)
    if not isinstance(anonymous, bool):
        _invalid(path, "source.dandi.anonymous_s3", "DANDI anonymous_s3 must be a boolean.")
    commands = _table(data.get("commands", {}), path, "commands", ("paths",))
    paths_command = _table(commands.get("paths", {}), path, "commands.paths", ("format",))
    paths_format = paths_command.get("format", "json")
    if paths_format not in ("json", "table"):
        _invalid(path, "commands.paths.format", "commands.paths.format must be 'json' or 'table'.")

    settings = SourceSettings(
        paths=_str_list(source.get("paths", []), path, "source.paths"),
        local=LocalSource(
            root=_optional_str(local.get("root"), path, "source.local.root"),
            glob=_optional_str(local.get("glob"), path, "source.local.glob"),
        ),
        dandi=DandiSource(
            dandiset_id=_optional_str(dandi.get("dandiset_id"), path, "source.dandi.dandiset_id"),
            version=_optional_str(dandi.get("version"), path, "source.dandi.version"),
            path_pattern=_optional_str(dandi.get("path_pattern"), path, "source.dandi.path_pattern"),
            anonymous_s3=anonymous,
        ),
    )
    return ProjectConfig(path=path, exists=True, source=settings, paths_format=paths_format,
                         version=version)
