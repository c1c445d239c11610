"""Network addresses: free loopback ports, open ports, API base URLs."""
from __future__ import annotations

import socket
from urllib.parse import urlsplit

from rollbook.errors import ConfigError


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int, timeout_s: float = 0.2) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def http_base_url(value: str, source: str) -> str:
    """`value` as an API base URL (http or https, a host, no credentials), or one line that
    names where it came from (`source`, e.g. --api-url) and what to write instead."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises ValueError for a port out of range
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        shown = value if len(value) <= 80 else f"{value[:60]}… ({len(value)} characters)"
        raise ConfigError(f"{source} {shown!r} is not an http:// or https:// URL with a host.",
                          hint="pass the API's base URL, e.g. http://api.internal:8000.")
    if "@" in parts.netloc:
        raise ConfigError(f"{source} carries credentials in the URL.",
                          hint="drop them; the smoke account's password goes in the variable "
                               "[api] smoke_password_env names.")
    return value.rstrip("/")
