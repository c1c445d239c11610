"""The Allure HTML report of a run, generated with Allure Report 3 (`npx --yes allure generate`)
when node is on the PATH. It must be served (`npx allure open DIR` or
`python -m http.server -d DIR`): opened from file:// it never finishes loading.

`npx` starts `node`, which does the work: both run in a process group of their own, killed
whole when they overrun the timeout, so no `node` outlives the run."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

from rollbook.runbook.child import die_with_parent

GENERATE_TIMEOUT_S = 300


def available() -> bool:
    return shutil.which("npx") is not None and shutil.which("node") is not None


def run_group(argv: list[str], *, timeout_s: float) -> subprocess.CompletedProcess:
    """Run argv in a new session (its own process group); on timeout the whole group is
    killed before TimeoutExpired is raised."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, start_new_session=True,
                            preexec_fn=die_with_parent(signal.SIGKILL))
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        raise
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def generate(results_dir: Path, out_dir: Path, *, config: Path, history: Path | None = None,
             timeout_s: float = GENERATE_TIMEOUT_S) -> tuple[bool, str]:
    """Render results_dir into out_dir with the allurerc.json `config`; Allure's own history
    (its trend between runs) goes to `history` when given. Returns (ok, one line)."""
    config = {**json.loads(config.read_text()), "output": str(out_dir)}
    if history is not None:
        history.parent.mkdir(parents=True, exist_ok=True)
        config["historyPath"] = str(history)
    rc = out_dir.parent / ".allurerc.json"
    rc.write_text(json.dumps(config))
    try:
        done = run_group(["npx", "--yes", "allure", "generate", "--config", str(rc),
                          str(results_dir)], timeout_s=timeout_s)
    except subprocess.TimeoutExpired:
        return False, (f"allure generate did not finish in {timeout_s:g} s and was stopped "
                       "(npx and node with it)")
    except OSError as exc:
        return False, f"allure generate could not start: {exc.strerror or exc}"
    finally:
        rc.unlink(missing_ok=True)
    if done.returncode != 0 or not (out_dir / "index.html").is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return False, f"allure generate exited {done.returncode}: {tail[0]}"
    return True, f"Allure report {out_dir} (serve it: npx allure open {out_dir})"
