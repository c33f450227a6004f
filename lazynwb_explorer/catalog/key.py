"""The key that authenticates stored catalogs, kept outside the cache directory.

Stored catalogs are trusted: a later process answers from them without reading the file. A
checksum alone lets anyone who can write `config.cache_dir` (a shared cache, a synced
folder) make every later read return what they like. So each stored catalog carries an HMAC
under a per-user key in the user's config directory ($XDG_CONFIG_HOME/lazynwb_explorer/,
else ~/.config/lazynwb_explorer/), created on first use readable by its owner only. A
catalog whose HMAC does not match is rebuilt. Without a usable key (an unwritable home, a
key file others can read) catalogs are not stored at all.
"""

from __future__ import annotations

import functools
import hmac
import os
import secrets
import threading
from pathlib import Path

from ..errors import get_logger

log = get_logger(__name__)
_lock = threading.Lock()
_keys: dict[str, bytes | None] = {}


def key_file() -> Path:
    return _key_file(os.environ.get("XDG_CONFIG_HOME"), os.environ.get("HOME"))


@functools.lru_cache(maxsize=8)
def _key_file(xdg_config_home: str | None, home: str | None) -> Path:
    """Keyed on the variables it depends on: Path.home() and its parsing cost more than the
    catalog look-up they are for, which runs once per file of a multi-file call."""
    base = xdg_config_home or str(Path.home() / ".config")
    return Path(base) / "lazynwb_explorer" / "catalog.key"


def catalog_key() -> bytes | None:
    """This user's key (created on first use), or None when none can be used."""
    path = str(key_file())
    with _lock:
        if path not in _keys:
            _keys[path] = _load_or_create(Path(path))
        return _keys[path]


def _load_or_create(path: Path) -> bytes | None:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        st = path.stat()
        if st.st_mode & 0o077 or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
            log.warning("%s can be read by other users or is not yours: catalogs are not stored", path)
            return None
        key = bytes.fromhex(path.read_text().strip())
        if len(key) < 16:
            raise ValueError("too short")
        return key
    except (OSError, ValueError) as exc:
        log.warning("no key to authenticate stored catalogs (%s: %s): catalogs are not stored", path, exc)
        return None


def sign(key: bytes, data: bytes) -> str:
    return hmac.new(key, data, "sha256").hexdigest()


def forget_keys() -> None:
    """Read the key file again on next use (tests; after the user deletes it)."""
    with _lock:
        _keys.clear()
