"""The Allure HTML report of a run, generated with Allure Report 3 (`npx --yes allure generate`)
when node is on the PATH. It must be served (`npx allure open DIR` or
`python -m http.server -d DIR`): opened from file:// it never finishes loading."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

GENERATE_TIMEOUT_S = 300


def available() -> bool:
    return shutil.which("npx") is not None and shutil.which("node") is not None


def generate(results_dir: Path, out_dir: Path, *, config: Path,
             history: Path | None = None) -> tuple[bool, str]:
    """Render results_dir into out_dir with the allurerc.json `config`; Allure's own history
    (its trend between runs) goes to `history` when given. Returns (ok, one line)."""
    config = {**json.loads(config.read_text()), "output": str(out_dir)}
    if history is not None:
        history.parent.mkdir(parents=True, exist_ok=True)
        config["historyPath"] = str(history)
    rc = out_dir.parent / ".allurerc.json"
    rc.write_text(json.dumps(config))
    try:
        done = subprocess.run(["npx", "--yes", "allure", "generate", "--config", str(rc),
                               str(results_dir)], capture_output=True, text=True,
                              timeout=GENERATE_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"allure generate did not finish: {exc}"
    finally:
        rc.unlink(missing_ok=True)
    if done.returncode != 0 or not (out_dir / "index.html").is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return False, f"allure generate exited {done.returncode}: {tail[0]}"
    return True, f"Allure report {out_dir} (serve it: npx allure open {out_dir})"
