"""Password hashes: scrypt from the standard library, parameters stored with the hash.

Format (one string, fits users.password_hash varchar(255))::

    scrypt$<n>$<r>$<p>$<salt, urlsafe base64>$<key, urlsafe base64>

A stored value in any other format (the seeder's placeholder ``$2b$...`` strings, say) never
verifies: such a user cannot log in until a password is set with ``set_password``.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

SCHEME = "scrypt"
DEFAULT_N, DEFAULT_R, DEFAULT_P = 2**14, 8, 1
KEY_BYTES = 32
SALT_BYTES = 16
_MAXMEM = 64 * 1024 * 1024


def hash_password(password: str, *, n: int = DEFAULT_N, r: int = DEFAULT_R, p: int = DEFAULT_P,
                  salt: bytes | None = None) -> str:
    """The stored form of ``password``; a fresh random salt unless one is given."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    key = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES,
                         maxmem=_MAXMEM)
    return f"{SCHEME}${n}${r}${p}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored``; False for a mismatch or an unknown format."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        return False
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, key = _unb64(parts[4]), _unb64(parts[5])
        candidate = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(key),
                                   maxmem=_MAXMEM)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate, key)


@functools.cache
def _dummy_hash() -> str:
    return hash_password("not a password", salt=b"\0" * SALT_BYTES)


def burn_time(password: str) -> None:
    """Spend a verification's time on an unknown email, so timing does not tell which exist."""
    verify_password(password, _dummy_hash())


def set_password(conn, email: str, password: str, **params) -> bool:
    """Give the user with ``email`` a new password (psycopg connection); False if no such user."""
    cur = conn.execute("UPDATE users SET password_hash = %s WHERE email = %s",
                       (hash_password(password, **params), email))
    return cur.rowcount == 1


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
