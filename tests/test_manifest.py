"""The run folder's SHA256SUMS and its SSH signature: sealed, verified, and shown failing on
every kind of tampering (a changed byte, an added file, a removed file, a forged signature)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollbook.record import manifest

NAMES = st.from_regex(r"[a-z][a-z0-9_-]{0,11}(\.[a-z]{1,4})?", fullmatch=True)


def make_run(root: Path, files: dict[str, bytes]) -> Path:
    for name, body in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return root


def ssh_key(folder: Path, name: str) -> tuple[Path, Path]:
    """An ed25519 key pair without passphrase, and an allowed-signers file naming it."""
    key = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)],
                   check=True, timeout=30)
    signers = folder / f"{name}.allowed"
    signers.write_text(f"{name}@rollbook {key.with_suffix('.pub').read_text()}")
    return key, signers


@pytest.fixture
def run(tmp_path) -> Path:
    return make_run(tmp_path / "run", {
        "rollback-record.md": b"# record\n", "allure-results/a-result.json": b"{}",
        "checks/x.json": b"[1, 2]", "baseline.json": b'{"sha256": "..."}'})


def test_sealed_run_verifies(run):
    manifest.seal(run)
    found = manifest.verify(run)
    assert found.ok and found.checked == 4
    assert found.lines()[-1].endswith("verified: 4 files checked, 0 changed, 0 added, 0 missing")
    assert "signature: unsigned" in found.lines()
    # the manifest is plain sha256sum format: checked without rollbook too
    done = subprocess.run(["sha256sum", "-c", "--quiet", manifest.MANIFEST], cwd=run,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr


@settings(max_examples=40, deadline=None)
@given(files=st.dictionaries(NAMES, st.binary(min_size=1, max_size=64), min_size=1,
                             max_size=6),
       pick=st.integers(min_value=0), offset=st.integers(min_value=0))
def test_one_changed_byte_in_any_file_is_named(tmp_path_factory, files, pick, offset):
    run = make_run(tmp_path_factory.mktemp("run"), files)
    manifest.seal(run)
    victim = sorted(files)[pick % len(files)]
    body = bytearray((run / victim).read_bytes())
    body[offset % len(body)] ^= 0x01
    (run / victim).write_bytes(bytes(body))

    found = manifest.verify(run)

    assert not found.ok
    assert found.changed == [victim] and not found.added and not found.missing
    assert f"changed: {victim}" in found.lines()


def test_added_and_missing_files_are_named(run):
    manifest.seal(run)
    (run / "checks" / "x.json").unlink()
    (run / "planted.txt").write_text("not part of the run")
    found = manifest.verify(run)
    assert not found.ok
    assert found.missing == ["checks/x.json"] and found.added == ["planted.txt"]


def test_signed_run_verifies_against_its_signer(run, tmp_path):
    key, signers = ssh_key(tmp_path, "drill")
    assert "signed" in manifest.seal(run, key)
    found = manifest.verify(run, signers)
    assert found.ok and found.signature == "good, signed by drill@rollbook"


def test_manifest_edited_to_match_a_change_breaks_the_signature(run, tmp_path):
    key, signers = ssh_key(tmp_path, "drill")
    manifest.seal(run, key)
    (run / "rollback-record.md").write_text("# a better-looking record\n")
    sums = run / manifest.MANIFEST
    digest = manifest.sha256_file(run / "rollback-record.md")
    sums.write_text("".join(
        f"{digest}  rollback-record.md\n" if line.endswith("  rollback-record.md") else
        line + "\n" for line in sums.read_text().splitlines()))

    found = manifest.verify(run, signers)

    assert found.changed == [] and not found.ok
    assert found.signature.startswith("BAD: does not match SHA256SUMS")


def test_signature_by_someone_else_is_refused(run, tmp_path):
    key, _ = ssh_key(tmp_path, "intruder")
    _, signers = ssh_key(tmp_path, "drill")
    manifest.seal(run, key)
    found = manifest.verify(run, signers)
    assert not found.ok and found.signature == "BAD: signed by no allowed signer"


def test_unsigned_run_fails_when_a_signature_is_required(run, tmp_path):
    _, signers = ssh_key(tmp_path, "drill")
    manifest.seal(run)
    found = manifest.verify(run, signers)
    assert not found.ok and found.signature.startswith("unsigned, but --allowed-signers")


def test_resealing_drops_a_stale_signature(run, tmp_path):
    key, signers = ssh_key(tmp_path, "drill")
    manifest.seal(run, key)
    manifest.seal(run)
    assert not (run / manifest.SIGNATURE).exists()
    assert manifest.verify(run).ok


def rollbook(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rollbook.cli", *args], capture_output=True,
                          text=True, timeout=60)


def test_verify_command_exit_codes(run, tmp_path):
    key, signers = ssh_key(tmp_path, "drill")
    manifest.seal(run, key)
    good = rollbook("verify", str(run), "--allowed-signers", str(signers))
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip().splitlines()[-1].endswith("verified: 4 files checked, 0 changed,"
                                                         " 0 added, 0 missing")

    (run / "baseline.json").write_text("{}")
    bad = rollbook("verify", str(run), "--allowed-signers", str(signers))
    assert bad.returncode == 1
    assert "changed: baseline.json" in bad.stdout and "NOT verified" in bad.stdout

    missing = rollbook("verify", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert missing.stderr.strip() == (f"rollbook: error: run folder {tmp_path / 'nope'} does not "
                                      "exist. Hint: pass a folder under reports/, e.g. "
                                      "reports/latest.")


def test_a_pytest_run_is_sealed_and_signed(pytester, tmp_path):
    key, signers = ssh_key(tmp_path, "ci")
    pytester.makepyfile(test_x="def test_x():\n    assert 1 + 1 == 2\n")
    reports = pytester.path / "reports"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--sign-key", str(key),
                                           "--reports-dir", str(reports))
    assert result.ret == 0
    result.stdout.fnmatch_lines(["rollbook: *SHA256SUMS written and signed*rollbook verify*"])
    [run] = [p for p in reports.iterdir() if p.is_dir() and not p.is_symlink()]
    assert manifest.verify(run, signers).ok
    # the hint's command checks the signature: with the signers file named, it verifies
    [hint] = [line for line in result.stdout.lines if "written and signed" in line]
    command = hint.split("check it with `", 1)[1].split("`", 1)[0]
    assert command == f"rollbook verify {run} --allowed-signers ALLOWED_SIGNERS", hint
    checked = rollbook(*command.replace("ALLOWED_SIGNERS", str(signers)).split()[1:])
    assert checked.returncode == 0 and "good" in checked.stdout, checked.stdout
    assert "allure-results/environment.properties" in (run / manifest.MANIFEST).read_text()


def test_a_missing_signing_key_is_one_line_before_anything_runs(pytester):
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--sign-key", "/nope/key")
    assert result.ret == 4
    assert result.stderr.lines[0].startswith("ERROR: --sign-key /nope/key: no such file. Hint:")
    assert "Traceback" not in result.stderr.str()


def _sha256sum_check(run: Path) -> int:
    """The oracle: coreutils' own `sha256sum -c` over the manifest."""
    return subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=run,
                          capture_output=True, timeout=60).returncode


def test_a_symlink_to_a_file_is_not_verified(run, tmp_path):
    manifest.seal(run)
    (tmp_path / "forged.md").write_text("# all ok\n")
    (run / "checks.md").symlink_to(tmp_path / "forged.md")
    found = manifest.verify(run)
    assert not found.ok
    assert found.untrusted == [f"symlink (not hashed, not followed): checks.md -> "
                               f"{tmp_path / 'forged.md'}"]
    assert found.lines()[-1].endswith("0 added, 0 missing, 1 not trusted")


def test_a_symlink_to_a_folder_holding_a_forged_record_is_not_verified(run, tmp_path):
    manifest.seal(run)
    forged = make_run(tmp_path / "elsewhere", {"checks.md": b"81 ok, 0 failed\n"})
    (run / "extra").symlink_to(forged, target_is_directory=True)
    found = manifest.verify(run)
    assert not found.ok and found.untrusted == [
        f"symlink (not hashed, not followed): extra -> {forged}"]


def test_a_special_file_is_not_verified(run):
    manifest.seal(run)
    os.mkfifo(run / "checks" / "pipe")
    found = manifest.verify(run)
    assert not found.ok and found.untrusted == ["special file (not hashed): checks/pipe"]


def test_a_duplicate_manifest_entry_whose_first_hash_is_wrong_is_not_verified(run):
    manifest.seal(run)
    sums = run / "SHA256SUMS"
    good = sums.read_text()
    entry = next(line for line in good.splitlines() if line.endswith("  baseline.json"))
    sums.write_text(f"{'0' * 64}  baseline.json\n" + good)
    assert _sha256sum_check(run) != 0  # the oracle refuses it
    found = manifest.verify(run)
    assert not found.ok
    assert any(line.startswith("listed twice in SHA256SUMS (line ") and
               line.endswith("): baseline.json") for line in found.untrusted)
    sums.write_text(good + entry + "\n")  # twice with the right hash: still not what we wrote
    assert not manifest.verify(run).ok


@pytest.mark.parametrize("name", ["/etc/passwd", "../outside.md", "./checks/x.json",
                                  "checks//x.json"])
def test_a_manifest_entry_that_is_not_a_plain_path_is_not_verified(run, name):
    manifest.seal(run)
    sums = run / "SHA256SUMS"
    sums.write_text(sums.read_text() + f"{'0' * 64}  {name}\n")
    found = manifest.verify(run)
    assert not found.ok and any(line.endswith(f": {name}") for line in found.untrusted)


def test_a_symlinked_manifest_is_not_read(run, tmp_path):
    manifest.seal(run)
    (run / "SHA256SUMS").rename(tmp_path / "SUMS")
    (run / "SHA256SUMS").symlink_to(tmp_path / "SUMS")
    found = manifest.verify(run)
    assert not found.ok and found.checked == 0
    assert f"symlink (not read): SHA256SUMS -> {tmp_path / 'SUMS'}" in found.untrusted


def test_the_oracle_and_verify_agree_on_a_clean_run(run):
    manifest.seal(run)
    assert _sha256sum_check(run) == 0 and manifest.verify(run).ok


def test_a_dump_hashed_when_written_and_linked_into_the_run_is_listed_unread(run, tmp_path):
    """A drill's dump, hashed once when written and kept by a second link, is listed with that
    hash (sha256sum agrees); written again afterwards, it is hashed anew."""
    dump = tmp_path / "state.dump"
    dump.write_bytes(b"archive " * 1000)
    manifest.hashed_once(dump)
    os.link(dump, run / "state.dump")
    manifest.seal(run)
    assert _sha256sum_check(run) == 0 and manifest.verify(run).ok
    with dump.open("ab") as handle:  # a new size and modification time: not what was hashed
        handle.write(b"more")
    manifest.seal(run)
    assert _sha256sum_check(run) == 0 and manifest.verify(run).ok


def test_a_remembered_hash_goes_stale_only_where_verify_sees_it(run, tmp_path):
    """The remembered hash is trusted while size and modification time stay; bytes changed
    behind them are not hidden: the manifest lists the old hash and verify names the file."""
    dump = tmp_path / "state.dump"
    dump.write_bytes(b"archive " * 1000)
    manifest.hashed_once(dump)
    os.link(dump, run / "state.dump")
    stat = dump.stat()
    with dump.open("r+b") as handle:  # same size, and the modification time put back
        handle.write(b"ARCHIVE")
    os.utime(dump, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    manifest.seal(run)
    found = manifest.verify(run)
    assert not found.ok and "state.dump" in "\n".join(found.lines())
    assert _sha256sum_check(run) != 0
