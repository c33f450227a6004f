"""Which NWB sources a command reads, chosen as lazynwb 1.0's CLI chooses them.

Precedence (the first that applies wins): PATH arguments; --root/--glob; the config's
`source.paths`; its `source.local`; DANDI (--dandiset-id ... or `source.dandi`). A local
path must exist; a URL is taken as given. DANDI assets come from one paginated listing
(`lazynwb.get_dandi_sources`), filtered by --dandi-path-pattern (fnmatch, case-sensitive, on
the asset's path), in path order.

`open` and `tree` take sources as words instead: a path, a URL, a local glob, or
`dandi:ID[@VERSION][/PATTERN]` (see `expand_specs`).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import glob as globbing
import pathlib
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

import lazynwb_explorer as lazynwb
from lazynwb_explorer.errors import LazyNWBError

from .failures import CLIError, ErrorCode, ExitCode, describe
from .project_config import ProjectConfig

DEFAULT_LOCAL_GLOB = "**/*.nwb"


@dataclasses.dataclass(frozen=True)
class Overrides:
    """Source options given on the command line."""

    paths: tuple[str, ...] = ()
    local_root: str | None = None
    local_glob: str | None = None
    dandiset_id: str | None = None
    dandi_version: str | None = None
    dandi_path_pattern: str | None = None
    anonymous_s3: bool | None = None

    def has_dandi(self) -> bool:
        return any(v is not None for v in (self.dandiset_id, self.dandi_version,
                                           self.dandi_path_pattern, self.anonymous_s3))


@dataclasses.dataclass(frozen=True)
class ResolvedSource:
    """The chosen source: kind ('paths', 'local', 'dandi' or 'none'), where the choice came
    from (precedence), and the paths known without asking a server."""

    kind: str
    precedence: str
    paths: tuple[dict[str, str], ...] = ()
    local: dict[str, str] | None = None
    dandi: dict[str, Any] | None = None

    def to_json(self, paths: Sequence[dict[str, str]] | None = None) -> dict[str, Any]:
        """lazynwb's `source` object."""
        listed = list(self.paths if paths is None else paths)
        return {"dandi": self.dandi, "kind": self.kind, "local": self.local, "paths": listed,
                "precedence": self.precedence, "resolved_count": len(listed)}


def resolve(config: ProjectConfig, overrides: Overrides) -> ResolvedSource:
    """The active source (local paths checked, local globs listed; DANDI not yet asked)."""
    has_paths = bool(overrides.paths)
    has_local = overrides.local_root is not None or overrides.local_glob is not None
    if has_paths and has_local:
        raise CLIError(code=ErrorCode.SOURCE_CONFIG_CONFLICT,
                       details={"sources": ["paths", "local"]},
                       message="Command-line source overrides are mutually incompatible.")
    settings = config.source
    if has_paths:
        return _path_source(overrides.paths, "command_line_paths", base_dir=None)
    if has_local:
        root_given = overrides.local_root is not None
        return _local_source(
            overrides.local_root if root_given else settings.local.root,
            overrides.local_glob if overrides.local_glob is not None else settings.local.glob,
            "command_line_local", base_dir=None if root_given else config.base_dir,
        )
    if settings.paths:
        return _path_source(settings.paths, "config_paths", base_dir=config.base_dir)
    if settings.local.root is not None or settings.local.glob is not None:
        return _local_source(settings.local.root, settings.local.glob, "config_local",
                             base_dir=config.base_dir)
    dandi = settings.dandi
    if overrides.has_dandi() or any(v is not None for v in (dandi.dandiset_id, dandi.version,
                                                            dandi.path_pattern)):
        choose = lambda given, configured: configured if given is None else given  # noqa: E731
        return _dandi_source(
            dandiset_id=choose(overrides.dandiset_id, dandi.dandiset_id),
            version=choose(overrides.dandi_version, dandi.version),
            path_pattern=choose(overrides.dandi_path_pattern, dandi.path_pattern),
            anonymous_s3=choose(overrides.anonymous_s3, dandi.anonymous_s3),
            precedence="command_line_dandi" if overrides.has_dandi() else "config_dandi",
        )
    return ResolvedSource(kind="none", precedence="none")


def source_paths(source: ResolvedSource) -> tuple[dict[str, str], ...]:
    """Every path of the source ({'input', 'resolved'}, plus 'asset_id' for DANDI)."""
    if source.kind in ("paths", "local"):
        return source.paths
    if source.kind == "dandi" and source.dandi is not None:
        return _dandi_paths(source.dandi)
    raise CLIError(code=ErrorCode.SOURCE_NOT_CONFIGURED, details={"source": source.to_json()},
                   message="No lazynwb source is configured.")


# -- explicit paths and local discovery ---------------------------------------------------------
def _is_local(path: str) -> bool:
    if len(path) >= 3 and path[1] == ":" and path[2] in "\\/":  # C:\ or C:/
        return True
    return urllib.parse.urlsplit(path).scheme in ("", "file")


def _local_path(path: str, base_dir: pathlib.Path | None) -> pathlib.Path:
    parsed = urllib.parse.urlsplit(path)
    if parsed.scheme == "file":
        return pathlib.Path(urllib.request.url2pathname(parsed.path)).expanduser()
    local = pathlib.Path(path).expanduser()
    if base_dir is not None and not local.is_absolute():
        return base_dir / local
    return local


def _path_source(paths: Sequence[str], precedence: str, base_dir: pathlib.Path | None) -> ResolvedSource:
    listed, missing = [], []
    for path in paths:
        entry = {"input": path, "resolved": path}
        if _is_local(path):
            local = _local_path(path, base_dir)
            entry["resolved"] = local.resolve(strict=False).as_posix()
            if not local.exists():
                missing.append(entry)
        listed.append(entry)
    if missing:
        raise CLIError(code=ErrorCode.SOURCE_PATH_NOT_FOUND, details={"paths": missing},
                       message="One or more explicit source paths do not exist.",
                       reason="no such file: " + ", ".join(m["input"] for m in missing))
    return ResolvedSource(kind="paths", precedence=precedence, paths=tuple(listed))


def _local_source(root: str | None, glob: str | None, precedence: str,
                  base_dir: pathlib.Path | None) -> ResolvedSource:
    if root is None:
        raise CLIError(code=ErrorCode.SOURCE_CONFIG_INCOMPLETE,
                       details={"missing": ["source.local.root"]},
                       message="Local source configuration requires root when glob is provided.")
    pattern = DEFAULT_LOCAL_GLOB if glob is None else glob
    root_path = _local_path(root, base_dir).resolve(strict=False)
    local = {"glob": pattern, "resolved_root": root_path.as_posix(), "root": root}
    if not root_path.exists():
        raise CLIError(code=ErrorCode.SOURCE_ROOT_NOT_FOUND,
                       details={"root": root, "resolved_root": root_path.as_posix()},
                       message="The configured local source root does not exist.",
                       reason=f"no such directory: {root_path.as_posix()}")
    prefix = "" if root in ("", ".") else root.rstrip("/") + "/"
    found = tuple(
        {"input": prefix + match.relative_to(root_path).as_posix(),
         "resolved": match.resolve(strict=False).as_posix()}
        for match in sorted(root_path.glob(pattern), key=lambda p: p.as_posix())
    )
    return ResolvedSource(kind="local", precedence=precedence, paths=found, local=local)


# -- DANDI --------------------------------------------------------------------------------------
def _dandi_source(*, dandiset_id: str | None, version: str | None, path_pattern: str | None,
                  anonymous_s3: bool, precedence: str) -> ResolvedSource:
    if dandiset_id is None:
        raise CLIError(code=ErrorCode.SOURCE_CONFIG_INCOMPLETE,
                       details={"missing": ["source.dandi.dandiset_id"]},
                       message="DANDI source configuration requires dandiset_id.")
    lazynwb.config.anon = anonymous_s3  # as lazynwb: the DANDI choice sets unsigned S3 access
    dandi = {"anonymous_s3": anonymous_s3, "dandiset_id": dandiset_id,
             "path_pattern": path_pattern, "version": version}
    return ResolvedSource(kind="dandi", precedence=precedence, dandi=dandi)


def _dandi_paths(dandi: dict[str, Any]) -> tuple[dict[str, str], ...]:
    """The dandiset's NWB assets matching the pattern: one listing, no request per asset."""
    pattern: str | None = dandi["path_pattern"]
    nwb_assets: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []

    def keep(asset: dict[str, Any]) -> bool:  # sees each NWB asset, in path order
        nwb_assets.append(asset)
        if pattern is None or fnmatch.fnmatchcase(_asset_path(asset), pattern):
            kept.append(asset)
            return True
        return False

    try:
        urls = lazynwb.get_dandi_sources(dandi["dandiset_id"], dandi["version"], order="path",
                                         asset_filter=keep)
    except ValueError as exc:
        if not str(exc).startswith("No NWB assets selected"):
            raise _dandi_unavailable(dandi, exc) from exc
        raise CLIError(
            code=ErrorCode.SOURCE_DANDI_NO_ASSETS,
            details={"asset_count": None, "dandiset_id": dandi["dandiset_id"],
                     "nwb_asset_count": len(nwb_assets), "path_pattern": pattern,
                     "version": dandi["version"]},
            message="No NWB assets matched the active DANDI source.", reason=describe(exc),
        ) from exc
    except LazyNWBError as exc:
        raise _dandi_unavailable(dandi, exc) from exc
    return tuple({"asset_id": str(asset.get("asset_id") or ""), "input": _asset_path(asset),
                  "resolved": url} for asset, url in zip(kept, urls))


def _asset_path(asset: dict[str, Any]) -> str:
    path = asset.get("path")
    return path if isinstance(path, str) and path else str(asset.get("asset_id") or "")


def _dandi_unavailable(dandi: dict[str, Any], exc: Exception) -> CLIError:
    return CLIError(code=ErrorCode.SOURCE_DANDI_UNAVAILABLE,
                    details={"dandiset_id": dandi["dandiset_id"], "version": dandi["version"],
                             "error_message": describe(exc)},
                    message="The DANDI Archive could not list the dandiset's assets.",
                    reason=describe(exc))


# -- source words for `open` and `tree` ---------------------------------------------------------
def expand_specs(specs: Sequence[str]) -> list[str]:
    """Sources from words: a path (must exist), a URL, a local glob (sorted matches; none is
    an error), or `dandi:ID[@VERSION][/PATTERN]` (the dandiset's NWB assets, optionally only
    those whose path matches PATTERN)."""
    sources: list[str] = []
    for spec in specs:
        if spec.startswith("dandi:"):
            sources.extend(_dandi_spec(spec))
        elif not _is_local(spec):
            sources.append(spec)
        elif globbing.has_magic(spec):
            matches = sorted(globbing.glob(spec, recursive=True))
            if not matches:
                raise _not_found(spec, "no file matches")
            sources.extend(pathlib.Path(m).resolve().as_posix() for m in matches)
        else:
            local = _local_path(spec, None)
            if not local.exists():
                raise _not_found(spec, "no such file")
            sources.append(local.resolve().as_posix())
    return sources


def parse_dandi_spec(spec: str) -> tuple[str, str | None, str | None]:
    """`dandi:000363@0.231012.2129/sub-*/*.nwb` -> ('000363', '0.231012.2129', 'sub-*/*.nwb')."""
    body = spec[len("dandi:"):]
    head, _, pattern = body.partition("/")
    dandiset_id, _, version = head.partition("@")
    if not dandiset_id:
        raise CLIError(code=ErrorCode.USAGE_ERROR, exit_code=ExitCode.USAGE_ERROR,
                       details={"source": spec},
                       message="A DANDI source is written dandi:ID[@VERSION][/PATTERN].")
    return dandiset_id, version or None, pattern or None


def _dandi_spec(spec: str) -> list[str]:
    dandiset_id, version, pattern = parse_dandi_spec(spec)
    dandi = {"dandiset_id": dandiset_id, "version": version, "path_pattern": pattern}
    return [p["resolved"] for p in _dandi_paths(dandi)]


def _not_found(spec: str, why: str) -> CLIError:
    return CLIError(code=ErrorCode.SOURCE_PATH_NOT_FOUND,
                    details={"paths": [{"input": spec, "resolved": spec}]},
                    message="One or more explicit source paths do not exist.",
                    reason=f"{why}: {spec}")
