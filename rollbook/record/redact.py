"""Keep passwords out of everything a person or a report will read."""
from __future__ import annotations

import re

from psycopg.conninfo import conninfo_to_dict, make_conninfo

# The password runs to the last @ of the authority: an unencoded @ inside it must not leak its tail.
_URL_PASSWORD = re.compile(r"(?P<head>postgres(?:ql)?(?:\+\w+)?://[^:/@\s]*:)(?P<pw>[^\s/?#]*)"
                           r"(?=@[^@\s/?#]*(?:[/?#\s'\"]|$))")
_KV_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|\S+)", re.I)
MASK = "***"


def redact_dsn(dsn: str) -> str:
    """The DSN with its password (URL or key=value form) replaced by ***."""
    try:
        params = conninfo_to_dict(dsn)
    except Exception:  # not parseable: fall back to pattern masking
        return redact_text(dsn)
    if "password" in params:
        params["password"] = MASK
    if dsn.startswith(("postgres://", "postgresql://")):
        return redact_text(dsn)
    return make_conninfo(**params)


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Mask passwords in DSNs inside free text, and any explicitly named secret values."""
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + (MASK if m.group("pw") else ""), text)
    text = _KV_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text
