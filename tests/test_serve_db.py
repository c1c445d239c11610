"""`rollbook serve-db` and the README's laptop walkthrough, run as written: serve in one process,
paste its export lines, run the README's commands, stop with SIGTERM, nothing left behind."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXPORT = re.compile(r"^\s*export (\w+)='([^']*)'$")


EXIT = re.compile(r"#\s*exit (\d+)")


def readme_walkthrough() -> list[tuple[str, int]]:
    """The commands of the README's "Try it on your laptop" block after serve-db itself, each
    with the exit status its comment promises (`# exit N`; 0 when it says none)."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### Try it on your laptop", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    lines = [line.split("#", 1) + [""] for line in block.splitlines()]
    commands = [(command.strip(), int(m.group(1)) if (m := EXIT.search("#" + comment)) else 0)
                for command, comment, *_ in lines]
    assert commands[0][0].startswith("rollbook serve-db"), commands[0]
    return [(c, code) for c, code in commands[1:] if c]


def start_serving(*args: str) -> tuple[subprocess.Popen, dict[str, str], list[str]]:
    process = subprocess.Popen([sys.executable, "-m", "rollbook.cli", "serve-db", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines, exports = [], {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if match := EXPORT.match(line):
            exports[match.group(1)] = match.group(2)
        if line.startswith("Stop with Ctrl-C"):
            return process, exports, lines
    process.kill()
    pytest.fail("serve-db did not become ready:\n" + "\n".join(lines))


def stop_serving(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=60)
    return rest


def reader_root(tmp_path: Path) -> Path:
    """Where the README's reader stands: a folder with the checkout's checks/ and its pytest
    configuration, in this test's temp folder, so the baseline the walkthrough writes (and the
    run folders) land there and never beside a user's own in the checkout."""
    here = tmp_path / "checkout"
    here.mkdir()
    for name in ("checks", "pyproject.toml"):
        (here / name).symlink_to(ROOT / name)
    return here


def test_readme_walkthrough_runs_as_written(tmp_path):
    here = reader_root(tmp_path)
    process, exports, _ = start_serving("--with-api")
    try:
        assert set(exports) == {"ROLLBOOK_DSN", "VIBES_DATABASE_URL", "ROLLBOOK_API_URL"}
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLBOOK_")}
        env.update(exports)
        for command, expected in readme_walkthrough():
            argv = command.split()
            if argv[0] == "python":
                argv[0] = sys.executable
            elif argv[0] in ("rollbook", "pytest"):
                argv = [sys.executable, "-m", "rollbook.cli" if argv[0] == "rollbook" else
                        "pytest", *argv[1:]]
            done = subprocess.run(argv, cwd=here, env=env, capture_output=True, text=True,
                                  timeout=600)
            said = f"{command}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
            assert done.returncode == expected, said
    finally:
        rest = stop_serving(process)
    assert (here / "pre_migration_baseline.json").is_file()
    assert [p.name for p in (here / "reports").iterdir()] != []  # the checks' run folder
    assert process.returncode == 0, rest
    assert rest.strip().endswith("stopped; nothing left behind")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(exports["ROLLBOOK_DSN"], connect_timeout=3).close()


def test_serve_db_at_the_uuid_revision(tmp_path):
    process, exports, lines = start_serving("--revision", "0002")
    try:
        assert "ROLLBOOK_API_URL" not in exports
        with psycopg.connect(exports["ROLLBOOK_DSN"]) as conn:
            revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
            id_type = conn.execute("SELECT pg_typeof(id)::text FROM users LIMIT 1").fetchone()[0]
        assert (revision, id_type) == ("0002", "uuid")
        assert lines[-1].startswith("Stop with Ctrl-C")
    finally:
        stop_serving(process)
    assert process.returncode == 0


@pytest.mark.parametrize(("args", "message"), [
    (["--revision", "0003"], "rollbook: error: --revision 0003: the Vibes reference has "
                             "revisions 0001, 0002. Hint: pass --revision 0001"),
    (["--scale", "lots"], "rollbook: error: --scale lots: unknown scale 'lots'"),
])
def test_bad_serve_db_arguments_are_one_line(args, message):
    done = subprocess.run([sys.executable, "-m", "rollbook.cli", "serve-db", *args],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith(message), done.stderr
