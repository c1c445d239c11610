"""The checkout is the user's: a pytest plugin that fails the session when its tests changed it.

The controller (never an xdist worker) takes a picture of the checkout when the session starts
and compares when it ends, after every worker and every session fixture has finished: each
file git does not track (the user's baseline, `reports/`, `reports/latest`, `envs/prod.toml`,
`.hypothesis/`) by its kind, size, modification time and link target; each tracked file by its
existence only, so a developer editing a source file while the suite runs is not blamed; and
the root and every untracked folder by their modification time too, which catches a file a test
created and removed again. Virtualenvs, `.git` and `__pycache__` are left out.

The session's own run folder (when --reports-dir puts it inside the checkout) is the user's
request, not a test's doing. A difference is one line per path in the terminal summary, and
the session's exit status is "tests failed".
"""
from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

IGNORED_NAMES = {".git", "__pycache__"}
EDITOR_LEFTOVERS = (".swp", ".swx", "~")  # an editor's files beside the one being edited
PICTURE = pytest.StashKey["Picture"]()
CHANGED = pytest.StashKey["list[str]"]()


@dataclass(frozen=True)
class Entry:
    kind: str  # "dir", "file", "link", "other"
    tracked: bool
    state: tuple  # what must stay equal: (size, mtime) of an untracked file, a link's target


@dataclass
class Picture:
    root: Path
    entries: dict[str, Entry]
    taken_ns: int


def _tracked(root: Path) -> set[str]:
    """The paths git tracks in the checkout (none when it is no git checkout)."""
    try:
        done = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True,
                              timeout=60, check=True)
    except (OSError, subprocess.SubprocessError):
        return set()
    return {p for p in done.stdout.decode(errors="surrogateescape").split("\0") if p}


def _entry(path: Path, relative: str, tracked: set[str], tracked_dirs: set[str]) -> Entry:
    stat = path.lstat()
    if path.is_symlink():
        return Entry("link", relative in tracked, (os.readlink(path),))
    if path.is_dir():
        mine = relative in tracked_dirs
        return Entry("dir", mine, () if mine else (stat.st_mtime_ns,))
    kind = "file" if path.is_file() else "other"
    if relative in tracked:
        return Entry(kind, True, ())
    return Entry(kind, False, (stat.st_size, stat.st_mtime_ns, stat.st_mode))


def take(root: Path) -> Picture:
    """Every path of the checkout worth watching, with what must not change about it."""
    started = time.time_ns()
    tracked = _tracked(root)
    tracked_dirs = {str(Path(p).parent) for p in tracked} | {
        str(parent) for p in tracked for parent in Path(p).parents}
    tracked_dirs.discard(".")
    entries: dict[str, Entry] = {".": Entry("dir", False, (root.stat().st_mtime_ns,))}
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = [d for d in dirs if d not in IGNORED_NAMES
                   and not (here / d / "pyvenv.cfg").exists()]
        for name in [*dirs, *files]:
            path = here / name
            relative = str(path.relative_to(root))
            if name.endswith(EDITOR_LEFTOVERS):
                continue
            try:
                entries[relative] = _entry(path, relative, tracked, tracked_dirs)
            except FileNotFoundError:  # gone between the listing and the look
                continue
    return Picture(root, entries, started)


def changes(before: Picture, after: Picture, allowed: Path | None = None) -> list[str]:
    """One line per path the session added, removed or changed; nothing under `allowed` (the
    session's own run folder) or on the way to it."""
    def inside(relative: str) -> bool:
        path = before.root / relative
        return allowed is not None and (path == allowed or allowed in path.parents)

    def on_the_way(relative: str) -> bool:  # a folder made to hold the run folder
        return allowed is not None and before.root / relative in allowed.parents

    def under(relative: str, paths: set[str]) -> bool:
        return any(str(parent) in paths for parent in Path(relative).parents)

    added = set(after.entries) - set(before.entries)
    removed = set(before.entries) - set(after.entries)
    lines = [f"added: {p}" for p in sorted(added)
             if not inside(p) and not on_the_way(p) and not under(p, added)]
    lines += [f"removed: {p}" for p in sorted(removed) if not under(p, removed)]
    changed = {p for p in set(before.entries) & set(after.entries)
               if before.entries[p] != after.entries[p]}
    # folders whose time an entry's own line explains (added, removed, replaced in one rename)
    replaced = {p for p in changed if after.entries[p].kind != "dir"}
    moved_in = {str(Path(p).parent) for p in added | removed | replaced}
    for relative in sorted(changed):
        then, now = before.entries[relative], after.entries[relative]
        if inside(relative):
            continue
        if then.kind == now.kind == "dir":
            if relative not in moved_in and not _edited_inside(relative, after):
                lines.append(f"something was created and removed in {relative}/")
        elif then.kind == now.kind == "link":
            lines.append(f"changed: {relative} (-> {then.state[0]}, now -> {now.state[0]})")
        else:
            lines.append(f"changed: {relative}")
    return lines


def _edited_inside(folder: str, after: Picture) -> bool:
    """A folder whose entries are the same but whose time moved: true when a tracked file in it
    was saved during the run (an editor's save replaces the file), else a test's doing."""
    inside = Path(folder)
    return any(entry.tracked and entry.kind == "file" and Path(relative).parent == inside
               and (after.root / relative).stat().st_mtime_ns >= after.taken_ns
               for relative, entry in after.entries.items())


def _controller(config) -> bool:
    return getattr(config, "workerinput", None) is None


def pytest_sessionstart(session):
    if _controller(session.config):
        session.config.stash[PICTURE] = take(Path(session.config.rootpath))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session):
    """Before the session's own record is written (and its `latest` link moved)."""
    config = session.config
    before = config.stash.get(PICTURE, None)
    if before is None:
        return
    after = take(before.root)
    after.taken_ns = before.taken_ns  # "during the run" starts when the first picture did
    run_dir = _own_run_dir(config)
    found = changes(before, after, run_dir)
    if found:
        config.stash[CHANGED] = found
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _own_run_dir(config) -> Path | None:
    from rollbook.pytest_plugin.reporting import RUN_DIR  # the plugin's own stash key
    run_dir = config.stash.get(RUN_DIR, None)
    return Path(run_dir).resolve() if run_dir is not None else None


def pytest_terminal_summary(terminalreporter, config):
    found = config.stash.get(CHANGED, None)
    if not found:
        return
    terminalreporter.section("the checkout changed during the run", sep="=", red=True,
                             bold=True)
    for line in found:
        terminalreporter.write_line(f"{line}")
    terminalreporter.write_line(
        "Tests own only their temp folders (tmp_path, pytester): none may write, move or "
        "delete anything in the checkout or its reports/. Hint: give the test's subprocess "
        "cwd=tmp_path and --reports-dir under tmp_path; a path here that you changed yourself "
        "while the suite ran is not a test's doing.", red=True)
