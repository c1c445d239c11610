"""Keep secrets out of everything a person or a report will read: passwords in DSNs and URLs,
`password`/`passwd`/`secret`/`token`/`api_key` keys in JSON and key=value text (escaped JSON
inside JSON too), `Authorization` headers and bearer tokens, `PGPASSWORD`, SQL's PASSWORD '…'."""
from __future__ import annotations

import re

from psycopg.conninfo import conninfo_to_dict, make_conninfo

MASK = "***"
# A URL's user:password@, whatever the password holds but a / (# ? @ too: a log keeps what it
# was given); it runs to the last @ of the authority, so an unencoded @ inside it leaks nothing.
_URL_CREDENTIALS = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^\s/]*)"
                              r"(?P<tail>@[^@\s/?#]*(?=[/?#\s'\"\\]|$))", re.I)
# A key that names a secret, in any case and inside longer names (db_password, X-Api-Key,
# GITHUB_TOKEN, PGPASSWORD, client_secret).
_SECRET_KEY = r"[\w.-]*(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|private[_-]?key)[\w.-]*"
_VALUE = (r"(?P<value>\\+\"(?:(?!\\+\").)*\\+\""   # an escaped JSON string inside JSON
          r"|\"(?:[^\"\\]|\\.)*\""                   # a JSON or shell double-quoted string
          r"|'(?:[^'\\]|\\.|'')*'"                   # a single-quoted string
          r"|[^\s\"'\\]+)")                           # a bare word, to a space or quote
_KEY_VALUE = re.compile(r"(?P<head>(?<![\w-])(?P<q>\\*[\"']?)" + _SECRET_KEY +
                        r"(?P=q)\s*(?:[:=]|=>)\s*)" + _VALUE, re.I)
_AUTHORIZATION = re.compile(r"(?P<head>\b(?:proxy-)?authorization\b\\*[\"']?\s*[:=]\s*\\*[\"']?"
                            r"\s*(?:(?:bearer|basic|token|digest|apikey|negotiate)\s+)?)"
                            r"(?P<value>[^\s\"',;\\]+)", re.I)
_BEARER = re.compile(r"(?P<head>\bbearer\s+)(?P<value>[A-Za-z0-9._~+/=-]{6,})", re.I)
_SQL_PASSWORD = re.compile(r"(?P<head>\bpassword\s+)(?P<value>'(?:[^']|'')*')", re.I)


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


def _keep_quotes(match: re.Match[str]) -> str:
    value = match.group("value")
    opening = re.match(r"\\*[\"']", value)
    quote = opening.group(0) if opening and len(value) > len(opening.group(0)) else ""
    return match.group("head") + quote + MASK + quote


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Mask every secret this module knows the shape of, and the secret values named."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    text = _URL_CREDENTIALS.sub(
        lambda m: m.group("head") + (MASK if m.group("pw") else "") + m.group("tail"), text)
    text = _AUTHORIZATION.sub(lambda m: m.group("head") + MASK, text)
    text = _BEARER.sub(lambda m: m.group("head") + MASK, text)
    text = _KEY_VALUE.sub(_keep_quotes, text)
    return _SQL_PASSWORD.sub(lambda m: m.group("head") + f"'{MASK}'", text)
