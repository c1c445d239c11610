"""Typed reading of one TOML table of a profile, collecting one line per mistake.

Each accessor reads a key, checks its type and range, records a mistake (file, section, key,
what is wrong and what to write instead) when it is wrong, and returns a usable default so the
rest of the profile is still checked. `finish()` reports keys nobody asked for: usually typos.
"""
from __future__ import annotations

import difflib
import importlib.util
import re
from pathlib import Path
from typing import Any, Iterator

from rollbook.settings.plain_select import why_not_plain_select

ENV_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
IMPORT_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")
PACKAGE_FILE = re.compile(r"^(?P<package>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):(?P<file>[^:/][^:]*)$")
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$")
UNITS_S = {"ms": 0.001, "s": 1.0, None: 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_MISSING = object()


class Reader:
    def __init__(self, data: Any, file: str, where: str, mistakes: list[str]):
        self.file, self.where, self.mistakes = file, where, mistakes
        self.data: dict[str, Any] = data if isinstance(data, dict) else {}
        self.asked: set[str] = set()
        self.silent: set[str] = set()  # accepted here (reported elsewhere), never suggested

    # -- reporting -------------------------------------------------------------------
    def error(self, key: str, problem: str) -> None:
        place = f"{self.where} {key}".strip() if key else self.where
        self.mistakes.append(f"{self.file}: {place}: {problem}")

    def consume(self, *keys: str) -> None:
        self.silent.update(keys)

    def keys(self) -> list[str]:
        return list(self.data)

    def finish(self, known: tuple[str, ...] = ()) -> None:
        for key in self.data:
            if key in self.silent or (key in self.asked and (not known or key in known)):
                continue
            candidates = sorted(set(known) | self.asked)
            close = difflib.get_close_matches(key, candidates, n=1)
            hint = f" (did you mean {close[0]}?)" if close else (
                f"; known keys: {', '.join(candidates)}" if candidates else "")
            self.error(key, f"unknown key{hint}")

    # -- raw access --------------------------------------------------------------------
    def _get(self, key: str, required: bool) -> Any:
        self.asked.add(key)
        if key not in self.data:
            if required:
                self.error(key, "missing (required)")
            return _MISSING
        return self.data[key]

    def _wrong(self, key: str, expected: str, value: Any) -> None:
        self.error(key, f"must be {expected}, got {value!r}")

    # -- scalars -----------------------------------------------------------------------
    def string(self, key: str, *, default: str | None = None, required: bool = False,
               max_length: int | None = None) -> str | None:
        value = self._get(key, required)
        if value is _MISSING:
            return default
        if not isinstance(value, str) or not value.strip():
            self._wrong(key, "a non-empty string", value)
            return default
        if max_length is not None and len(value) > max_length:
            self.error(key, f"is {len(value)} characters long; at most {max_length} allowed")
            return default
        return value

    def boolean(self, key: str, *, default: bool) -> bool:
        value = self._get(key, False)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            self._wrong(key, "true or false", value)
            return default
        return value

    def integer(self, key: str, *, default: int | None = None, minimum: int | None = None,
                required: bool = False) -> int | None:
        value = self._get(key, required)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self._wrong(key, "an integer", value)
            return default
        if minimum is not None and value < minimum:
            self.error(key, f"must be at least {minimum}, got {value}")
            return default
        return value

    def number(self, key: str, *, default: float | None = None,
               minimum: float | None = None) -> float | None:
        value = self._get(key, False)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self._wrong(key, "a number", value)
            return default
        if minimum is not None and value < minimum:
            self.error(key, f"must be at least {minimum}, got {value}")
            return default
        return float(value)

    def choice(self, key: str, choices: tuple[str, ...], *, default: str) -> str:
        value = self.string(key, default=default)
        if value not in choices:
            self.error(key, f"must be one of {', '.join(choices)}, got {value!r}")
            return default
        return value

    def duration(self, key: str) -> float:
        """Seconds from a number of seconds or a string like "90s", "30m", "1h"."""
        value = self._get(key, True)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return float(value)
        match = DURATION.match(value) if isinstance(value, str) else None
        if not match or float(match.group(1)) <= 0:
            self._wrong(key, 'a positive duration such as 1800, "30m", "90s" or "1h"', value)
            return 0.0
        return float(match.group(1)) * UNITS_S[match.group(2)]

    # -- composite values ------------------------------------------------------------------
    def string_list(self, key: str, *, default: list[str] | None = None,
                    required: bool = False) -> list[str]:
        value = self._get(key, required)
        if value is _MISSING:
            return list(default or [])
        if (not isinstance(value, list) or not value
                or not all(isinstance(v, str) and v for v in value)):
            self._wrong(key, 'a non-empty list of strings, e.g. ["id"]', value)
            return list(default or [])
        return value

    def string_or_list(self, key: str, *, default: str) -> str | tuple[str, ...]:
        """A string, or a non-empty list of strings (returned as a tuple)."""
        value = self._get(key, False)
        if value is _MISSING:
            return default
        if isinstance(value, list):
            return tuple(self.string_list(key, default=[])) or default
        return self.string(key, default=default)

    def list_of_string_lists(self, key: str) -> list[list[str]]:
        value = self._get(key, False)
        if value is _MISSING:
            return []
        if not isinstance(value, list) or not all(
                isinstance(v, list) and v and all(isinstance(c, str) for c in v)
                for v in value):
            self._wrong(key, 'a list of column lists, e.g. [["email"]]', value)
            return []
        return value

    def path(self, key: str, *, base: Path, must_exist: bool = False) -> Path | None:
        """A path relative to the profile file, or `package:file` for a file inside an
        installed Python package (so a copied profile still finds it)."""
        value = self.string(key)
        if value is None:
            return None
        in_package = PACKAGE_FILE.match(value)
        if in_package:
            package, name = in_package["package"], in_package["file"]
            spec = importlib.util.find_spec(package.split(".")[0]) and \
                importlib.util.find_spec(package)
            folders = list(spec.submodule_search_locations or []) if spec else []
            path = (Path(folders[0]) / name).resolve() if folders else None
            if path is None or (must_exist and not path.exists()):
                self.error(key, f"{value}: " + (f"package {package} has no {name}" if folders
                                                else f"no installed package {package}"))
                return None
            return path
        path = (base / Path(value).expanduser()).resolve()
        if must_exist and not path.exists():
            self.error(key, f"{path} does not exist; paths are relative to the profile file, "
                            "or name a file inside an installed package as package:file")
            return None
        return path

    def env_var_name(self, key: str) -> str | None:
        value = self.string(key)
        if value is not None and not ENV_VAR.match(value):
            self.error(key, "must name an environment variable (e.g. VIBES_DSN), not hold "
                       "the DSN itself; export the DSN in that variable")
            return None
        return value

    def import_ref(self, key: str) -> str | None:
        value = self.string(key)
        if value is None:
            return None
        if not IMPORT_REF.match(value):
            self._wrong(key, 'a "module:function" reference, e.g. "pkg.seed:seed"', value)
            return None
        if importlib.util.find_spec(value.split(":")[0].split(".")[0]) is None:
            self.error(key, f"module {value.split(':')[0]!r} cannot be imported")
            return None
        return value

    def ref_or_argv(self, key: str) -> str | tuple[str, ...] | None:
        """A "module:function" reference, or a command as a non-empty list of strings (argv,
        run without a shell)."""
        value = self._get(key, False)
        if value is _MISSING:
            return None
        if isinstance(value, list):
            argv = tuple(self.string_list(key, default=[]))
            return argv or None
        if isinstance(value, str) and not IMPORT_REF.match(value):
            self._wrong(key, 'a "module:function" reference or a command\'s argv as a list, '
                        'e.g. ["myapp", "init-db"]', value)
            return None
        return self.import_ref(key)

    def http_url(self, key: str) -> str | None:
        value = self.string(key)
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            self._wrong(key, "an http:// or https:// URL", value)
            return None
        if "@" in value.split("://", 1)[1].split("/", 1)[0]:
            self.error(key, "must not carry credentials; tokens go in environment variables")
            return None
        return value.rstrip("/")

    def select_statement(self, key: str, *, required: bool = False,
                         bound: bool = False) -> str | None:
        """One plain SELECT (see plain_select); bound: its %(name)s come from a params query."""
        value = self.string(key, required=required)
        if value is None:
            return None
        refusal = why_not_plain_select(value, bound=bound)
        if refusal:
            self.error(key, refusal)
            return None
        return value.strip().rstrip(";")

    # -- nested tables -----------------------------------------------------------------------
    def section(self, key: str) -> Reader:
        value = self._get(key, False)
        if not self.where:
            where = f"[{key}]"
        elif self.where.startswith("[") and not self.where.startswith("[["):
            where = f"{self.where[:-1]}.{key}]"
        else:
            where = f"{self.where}.{key}"
        if value is not _MISSING and not isinstance(value, dict):
            self._wrong(key, f"a table ([{key}])", value)
            value = {}
        return Reader({} if value is _MISSING else value, self.file, where, self.mistakes)

    def named_sections(self, key: str) -> Iterator[tuple[str, Reader]]:
        outer = self.section(key)
        for name in outer.keys():
            yield name, outer.section(name)
        outer.finish(known=tuple(outer.keys()))

    def array_of_tables(self, key: str) -> Iterator[Reader]:
        value = self._get(key, False)
        if value is _MISSING:
            return
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self._wrong(key, f"an array of tables ([[{key}]])", value)
            return
        for index, item in enumerate(value, 1):
            yield Reader(item, self.file, f"[[{key}]] #{index}", self.mistakes)
