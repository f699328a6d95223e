"""Secrets at rest: a connector's tokens and passwords, encrypted with a key the store does not hold.

The key comes from PILOTE_SECRET_KEY (a Fernet key: 32 url-safe base64 bytes), else from the file
PILOTE_SECRET_KEY_FILE (default `$PILOTE_HOME/secret.key`, created on first use, readable by its owner only).
A copy of the database alone (a backup, a dump sent for support) reveals no credential; the key file must be
backed up apart from it. Secrets are decrypted only while a sync or an action runs, never shown, logged or
exported.
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson
from cryptography.fernet import Fernet, InvalidToken

from pilote.config import Settings
from pilote.errors import Invalid


def key(settings: Settings) -> bytes:
    """The encryption key: from the environment, else the key file (created on first use)."""
    if settings.secret_key:
        return _checked(settings.secret_key.encode(), "PILOTE_SECRET_KEY")
    path = key_file(settings)
    try:
        if not path.exists():
            _create(path)
        if path.stat().st_mode & 0o077:
            raise Invalid(f"{path}: the secret key file can be read by other users of this machine; "
                          f"make it yours only (chmod 600 {path})")  # fmt: skip
        return _checked(path.read_bytes().strip(), str(path))
    except OSError as error:
        raise Invalid(f"{path}: the secret key file cannot be read or created ({error.strerror or error}); "
                      "set PILOTE_SECRET_KEY_FILE to a writable place, or PILOTE_SECRET_KEY") from None  # fmt: skip


def _create(path: Path) -> None:
    """A new key, written whole to a private temporary file then linked into place: another process creating
    it at the same moment finds either no file or a complete one, never an empty one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(Fernet.generate_key() + b"\n")
        out.flush()
        os.fsync(out.fileno())
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process made it first: its key is the one
    finally:
        temporary.unlink(missing_ok=True)


def _checked(raw: bytes, where: str) -> bytes:
    try:
        Fernet(raw)
    except ValueError:
        raise Invalid(
            f"{where}: not a valid secret key (32 url-safe base64-encoded bytes); "
            'make one with `python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`'
        ) from None
    return raw


def seal(settings: Settings, secrets: dict[str, str]) -> str | None:
    """The secrets encrypted for the store (None when there are none)."""
    if not secrets:
        return None
    return Fernet(key(settings)).encrypt(orjson.dumps(secrets, option=orjson.OPT_SORT_KEYS)).decode("ascii")


def unseal(settings: Settings, sealed: str | None) -> dict[str, str]:
    """The secrets back; a key that does not open them is said in plain words."""
    if not sealed:
        return {}
    try:
        found = orjson.loads(Fernet(key(settings)).decrypt(sealed.encode("ascii")))
    except (InvalidToken, orjson.JSONDecodeError):
        raise Invalid(
            "this source's credentials cannot be decrypted with the current secret key (PILOTE_SECRET_KEY or "
            "the key file changed?): restore the key, or enter the credentials again with "
            "`pilote source credentials ID`"
        ) from None
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def key_file(settings: Settings) -> Path:
    """Where the key file is (whether or not it exists yet)."""
    return settings.secret_key_file or settings.home / "secret.key"
