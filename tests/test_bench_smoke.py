"""bench/run at the tiny scale, one round each, so the benchmarks cannot rot: RESULTS.md has
every section, every figure and every ratio, the growth table's row at tiny among them; the
growth table's goals are read right from a planted report."""
from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import growth_table  # noqa: E402
from growth import growth_scales, journals  # noqa: E402
from results import RATIOS, SECTIONS  # noqa: E402

pytest.importorskip("reladiff", reason="the bench extra: pip install -e '.[bench]'")
BENCH_RUN = [sys.executable, str(ROOT / "bench" / "run")]


@pytest.fixture(scope="module")
def output(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("bench")
    done = subprocess.run([*BENCH_RUN, "--scale", "tiny", "--repeats", "1", "--output-dir",
                           str(output)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (output / "benchmark-tiny.json").is_file()  # the raw figures, to compare runs
    return output


@pytest.fixture(scope="module")
def results(output) -> str:
    return (output / "RESULTS.md").read_text()


def test_every_section_and_ratio(results):
    for title, _ in SECTIONS.values():
        assert f"## {title}\n" in results
    for _, what, _, _ in RATIOS:
        assert re.search(rf"\| {re.escape(what)} \| \d+\.\d\dx( \(per round [^|]*\))? \|",
                         results), what


PER_ROUND = tuple(what for section, what, _, _ in RATIOS if section == "checks") + (
    "rollbook snapshot: with row digests ÷ without",)


def test_interleaved_ratios_are_per_round(results):
    """The paired figures' ratios are medians of per-round ratios, with their range."""
    for what in PER_ROUND:
        assert re.search(rf"\| {re.escape(what)} \| \d+\.\d\dx \(per round \d+\.\d\dx–"
                         rf"\d+\.\d\dx, 1 rounds\) \|", results), what


def test_interleaved_figures_keep_pytest_benchmarks_shape(output):
    """A figure measured in shared rounds has pytest-benchmark's statistics of its own rounds'
    seconds, and those seconds and each round's order in extra_info."""
    report = json.loads((output / "benchmark-tiny.json").read_text())
    found = {b["name"]: b for b in report["benchmarks"]}
    for name in ("test_snapshot[with]", "test_checks_serial", "test_runbook_commands"):
        rounds = found[name]["extra_info"]["interleaved"]
        assert found[name]["stats"]["data"] == rounds["rounds_s"]
        assert found[name]["stats"]["rounds"] == len(rounds["orders"]) == 1
        assert name in rounds["orders"][0]


def test_interleaved_rounds_alternate_which_goes_first(monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_conftest", ROOT / "bench" / "conftest.py")
    bench_conftest = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench_conftest)  # its dataclass looks it up
    spec.loader.exec_module(bench_conftest)
    ran = []
    rounds = bench_conftest.Interleaved(4).rounds(
        {name: lambda name=name: ran.append(name) or name.upper() for name in "abc"})
    assert "".join(ran) == "abccbaabccba"
    assert [list(r) for r in rounds] == [list("abc"), list("cba")] * 2
    assert all(r[name][1] == name.upper() and r[name][0] >= 0 for r in rounds for name in "abc")


def test_machine_versions_and_counts(results):
    for fact in ("cores", "memory", "PostgreSQL: 18", "Python: 3.", "rollbook ", "reladiff",
                 "commands: `bench/run --scale tiny"):
        assert fact in results
    assert re.search(r"asserts: [1-9]\d* test items judged", results)
    assert re.search(r"peak RSS \d+ MiB", results)
    assert re.search(r"[\d,]+ rows/s", results)
    assert "| rollbook: changed row's key range named |" in results
    assert re.search(r"workers planned: \d+", results)


def test_drill_timeline(results):
    """The main drill's steps and the floor's parts, and the walls they add up to."""
    for line in (r"\| Seed Vibes data \(scale 500\) \| \d+\.\d\d \|",
                 r"\| Database Rollback \| \d+\.\d\d \|",
                 r"\|  \|  \| alembic upgrade 0002 \| \d+\.\d\d \|",
                 r"\| outside the steps [^|]* \| -?\d+\.\d\d \|",
                 r"\| main drill ÷ its own [^|]* \| \d+\.\d\dx \|",
                 r"\| \*\*drill wall\*\* \| \d+\.\d\d \| \*\*floor\*\* \| \d+\.\d\d \|"):
        assert re.search(line, results), line


def test_growth_row_at_tiny(results):
    """The drill's wall time and four phases, the checks' time and both peak RSS, measured."""
    assert f"## {growth_table.TITLE}\n" in results
    number = r"\d+\.\d{3}"
    rss = r"\d+ / \d+"
    assert re.search(rf"\| tiny \| 1 \| 500 \| 1,775 \| {number}( \| {number}){{4}} \| {rss} "
                     rf"\| {number} \| [1-9]\d* \| {rss} \|", results)
    assert "One scale only (tiny): no growth ratio." in results


def test_only_replaces_its_section_and_keeps_the_rest(output):
    before = (output / "RESULTS.md").read_text()
    done = subprocess.run([*BENCH_RUN, "--scale", "tiny", "--repeats", "1", "--only", "seed",
                           "--output-dir", str(output)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    after = (output / "RESULTS.md").read_text()
    assert after.count("`bench/run --scale tiny") == 2  # both commands named
    seed = re.compile(r"\| seed tiny \|.*")
    assert seed.search(after) and seed.search(after).group() != seed.search(before).group()
    growth = re.compile(r"\| tiny \| 1 \| 500 \|.*")
    assert growth.search(after).group() == growth.search(before).group()  # kept as it was


def _report(checks_1m: float, checks_5m: float, rss_5m: int) -> dict:
    """A planted report: the drill and the checks at 1m and 5m."""
    def figure(kind: str, scale: str, median: float, own: int, rows: int) -> dict:
        info = {"scale": scale, "journals": journals(scale), "own_rss_kib": own,
                "peak_rss_kib": own, "rows": rows, "asserts": 141,
                "phases": {"Database Rollback": median / 4}}
        return {"name": f"test_growth_{kind}[{scale}]", "extra_info": info,
                "stats": {"median": median, "rounds": 1}}
    return {f["name"]: f for f in (
        figure("drill", "1m", 100.0, 100_000, 3_550_000),
        figure("drill", "5m", 450.0, rss_5m, 17_750_000),
        figure("checks", "1m", checks_1m, 100_000, 3_550_000),
        figure("checks", "5m", checks_5m, rss_5m, 17_750_000))}


def test_growth_goals_met():
    text = "\n".join(growth_table.render(_report(8.0, 40.0, 110_000)))
    assert re.search(r"\| pytest checks/ time, 5m ÷ 1m \(5\.00x the rows\) \| 5\.00x \| "
                     r"within 5\.50x \| yes \|", text)
    assert re.search(r"\| checks' pytest peak RSS, 5m ÷ 1m \| 1\.10x \| within 1\.20x \| yes",
                     text)
    assert "| 5m | 5.00x | 4.50x | 4.50x | 5.00x | 1.10x | 1.10x |" in text
    assert "| 1m | 28.169 | 7.042 | 2.254 |" in text  # seconds per million rows


def test_growth_goals_missed_are_named():
    """Planted: the checks grow 6x for 5x the rows and the pytest process's RSS 1.5x."""
    text = "\n".join(growth_table.render(_report(8.0, 48.0, 150_000)))
    assert re.search(r"\| pytest checks/ time, 5m ÷ 1m .*\| 6\.00x \| within 5\.50x \| NO \|",
                     text)
    assert re.search(r"\| checks' pytest peak RSS, 5m ÷ 1m \| 1\.50x \| within 1\.20x \| NO",
                     text)


@pytest.mark.parametrize(("label", "count"), [("tiny", 500), ("100k", 100_000),
                                              ("1m", 1_000_000), ("5m", 5_000_000),
                                              ("2.5M", 2_500_000), ("12345", 12_345)])
def test_scale_labels(label, count):
    assert journals(label) == count


def test_growth_scales_sorted_by_size():
    assert growth_scales("5m, 100k,1m,1000000") == ["100k", "1m", "5m"]


@pytest.mark.parametrize("value", ["5x", "1", "m", "100k,lots"])
def test_bad_growth_scale_is_one_line_with_a_hint(value, tmp_path):
    done = subprocess.run([sys.executable, "-m", "pytest", "bench", "-p", "no:cacheprovider",
                           "--collect-only", "-q", "--bench-growth", value,
                           "--reports-dir", str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True)
    assert done.returncode == 4
    assert "Hint: --bench-growth 100k,1m,5m" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("argv", [["--repeats", "0"], ["--only", "speed"]])
def test_bad_arguments_are_one_line_with_a_hint(argv, tmp_path):
    done = subprocess.run([*BENCH_RUN, *argv, "--output-dir", str(tmp_path)],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert "Hint:" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "RESULTS.md").exists()


def test_without_the_bench_extra_it_says_what_to_install(tmp_path):
    """pytest-benchmark is the bench extra's, not rollbook's: bench/run names it when absent."""
    absent = ("import runpy, sys; sys.modules['pytest_benchmark'] = None; "
              f"sys.argv = ['bench/run', '--output-dir', {str(tmp_path)!r}]; "
              f"runpy.run_path({str(ROOT / 'bench' / 'run')!r}, run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", absent], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip() == ("bench/run: pytest_benchmark not installed. Hint: pip "
                                   "install -e '.[bench]'")
    assert not any(tmp_path.iterdir())
