"""bench/run at the tiny scale, one round each, so the benchmarks cannot rot: RESULTS.md has
every section, every figure and every ratio."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from results import RATIOS, SECTIONS  # noqa: E402

pytest.importorskip("reladiff", reason="the bench extra: pip install -e '.[bench]'")


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> str:
    output = tmp_path_factory.mktemp("bench")
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "run"), "--scale", "tiny",
                           "--repeats", "1", "--output-dir", str(output)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (output / "benchmark-tiny.json").is_file()  # the raw figures, to compare runs
    return (output / "RESULTS.md").read_text()


def test_every_section_and_ratio(results):
    for title, _ in SECTIONS.values():
        assert f"## {title}\n" in results
    for _, what, _, _ in RATIOS:
        assert re.search(rf"\| {re.escape(what)} \| \d+\.\d\dx \|", results), what


def test_machine_versions_and_counts(results):
    for fact in ("cores", "memory", "PostgreSQL: 18", "Python: 3.", "rollbook: ", "reladiff",
                 "command: bench/run --scale tiny"):
        assert fact in results
    assert re.search(r"asserts: [1-9]\d* test items judged", results)
    assert re.search(r"peak RSS \d+ MiB", results)
    assert re.search(r"[\d,]+ rows/s", results)
    assert "| rollbook: changed row's key range named |" in results


def test_bad_repeats_is_one_line_with_a_hint(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "run"), "--repeats", "0",
                           "--output-dir", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert "Hint:" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "RESULTS.md").exists()
