"""The secret that signs access and refresh tokens: never a value anyone else knows.

`SFA_JWT_SECRET` when it is set. Otherwise a random secret generated on the first start
and kept in `SFA_JWT_SECRET_FILE` (default `$SFA_DATA_DIR/jwt_secret`, the data folder
outside the repository, `~/.local/state/sfa` unless set), mode 0600, so that every
process and restart of one deployment signs with the same key and no deployment runs on
a default. The development value that used to be the default, published in this
repository, is refused by `sfa serve` unless the server listens on loopback only.
"""

import ipaddress
import logging
import os
import secrets
import tempfile
from functools import lru_cache
from pathlib import Path

from sfa.config import KNOWN_DEV_JWT_SECRET, get_settings

log = logging.getLogger(__name__)


@lru_cache
def jwt_secret() -> str:
    settings = get_settings()
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value()
    return _from_file(settings.jwt_secret_path())


def forget() -> None:
    """Resolve again on the next use (tests, after changing the settings)."""
    jwt_secret.cache_clear()


def _from_file(path: Path) -> str:
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Written whole under a temporary name, then linked into place: a link fails when the
    # name exists, so of processes starting at once one wins and the others read its key.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".jwt_secret.")
    try:
        with os.fdopen(fd, "w") as out:  # mkstemp creates it with mode 0600
            out.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        else:
            log.warning("SFA_JWT_SECRET is not set: generated a signing secret in %s", path)
    finally:
        os.unlink(tmp)
    return _read(path)


def _read(path: Path) -> str:
    value = path.read_text().strip()
    if len(value) < 32:
        raise RuntimeError(f"{path} holds no usable secret (fewer than 32 characters)")
    return value


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_known_secret(host: str) -> str | None:
    """Why the API must not serve on `host` with the configured secret, or None."""
    settings = get_settings()
    configured = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
    if configured == KNOWN_DEV_JWT_SECRET and not is_loopback(host):
        return (
            "SFA_JWT_SECRET is the development value published in the repository: anyone "
            f"could sign tokens. Refusing to listen on {host}; set a private SFA_JWT_SECRET, "
            "unset it (a random one is generated and kept in the data folder), or listen "
            "on 127.0.0.1"
        )
    return None
