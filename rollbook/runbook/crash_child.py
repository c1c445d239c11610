"""The alembic command line, in a process that can kill itself just before statement k.

    ROLLBOOK_CRASH_URL=postgresql+psycopg://... ROLLBOOK_CRASH_LOG=statements.jsonl \
    ROLLBOOK_CRASH_AT=7 python -m rollbook.runbook.crash_child -c alembic.ini downgrade 0001

Arguments are alembic's own. Every statement the migration sends is written to the log (one
JSON line: its number, the backend that runs it, its first words) before it is sent; with
ROLLBOOK_CRASH_AT=k the process sends itself SIGKILL just before statement k: no rollback
sent, no socket closed cleanly, as when an operator's session or host dies. The database URL
comes from ROLLBOOK_CRASH_URL (never argv, which `ps` shows) and becomes the Config's
sqlalchemy.url, so any project whose env.py reads sqlalchemy.url runs here unchanged.
"""
from __future__ import annotations

import json
import os
import signal
import sys

from alembic.config import CommandLine, Config

from rollbook.runbook.statements import Statement, each_statement

URL_ENV = "ROLLBOOK_CRASH_URL"
LOG_ENV = "ROLLBOOK_CRASH_LOG"
AT_ENV = "ROLLBOOK_CRASH_AT"
FIRST_WORDS = 8


def first_words(text: str, words: int = FIRST_WORDS) -> str:
    """A statement's opening words on one line, e.g. "ALTER TABLE users RENAME TO ...\"."""
    split = text.split()
    return " ".join(split[:words]) + (" ..." if len(split) > words else "")


class CrashingCommandLine(CommandLine):
    """alembic's command line, its URL from the environment, every statement logged (and the
    one at ROLLBOOK_CRASH_AT never sent)."""

    def run_cmd(self, config: Config, options) -> None:
        url = os.environ.get(URL_ENV)
        if url:
            config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        crash_at = int(os.environ[AT_ENV]) if os.environ.get(AT_ENV) else None
        with open(os.environ[LOG_ENV], "a", encoding="utf-8") as log:
            def before(statement: Statement) -> None:
                log.write(json.dumps({"number": statement.number,
                                      "backend_pid": statement.backend_pid,
                                      "sql": first_words(statement.sql)}) + "\n")
                log.flush()
                if statement.number == crash_at:
                    os.kill(os.getpid(), signal.SIGKILL)

            with each_statement(before=before):
                super().run_cmd(config, options)


if __name__ == "__main__":
    CrashingCommandLine(prog="python -m rollbook.runbook.crash_child").main(sys.argv[1:])
