"""Evidence that proves itself: a SHA256SUMS manifest over every file of a run folder, signed
with an SSH key when one is given, and the check of both.

The manifest is in `sha256sum` format, so `sha256sum -c SHA256SUMS` checks it without rollbook.
Signatures are `ssh-keygen -Y sign` signatures (the ones git uses for commits) in the namespace
below; they are checked against an allowed-signers file (`ssh-keygen -Y verify`).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from rollbook.errors import ConfigError, RollbookError

MANIFEST = "SHA256SUMS"
SIGNATURE = "SHA256SUMS.sig"
NAMESPACE = "rollbook-record"
SSH_KEYGEN_TIMEOUT_S = 30
_CHUNK = 1 << 20


class VerifyError(RollbookError):
    """A run folder cannot be checked at all (missing, no manifest, manifest unreadable)."""


# files this process wrote and hashed (a drill's dumps, hundreds of MB at 1M journals), by
# what identifies their bytes unchanged: device, inode, size and modification time
_REMEMBERED: dict[tuple[int, int, int, int], str] = {}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _identity(path: Path) -> tuple[int, int, int, int]:
    stat = path.stat()
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


def hashed_once(path: Path) -> str:
    """sha256_file of a file this process writes once and keeps (a dump), remembered so the
    manifest of the run folder that links it lists it without reading it again; a file
    changed since (another size or modification time) is hashed anew."""
    identity = _identity(path)
    _REMEMBERED[identity] = sha256_file(path)
    return _REMEMBERED[identity]


def _manifest_digest(path: Path) -> str:
    return _REMEMBERED.get(_identity(path)) or sha256_file(path)


def _walk(run_dir: Path) -> tuple[list[str], list[str]]:
    """The regular files under run_dir as sorted POSIX paths (the manifest and its signature
    left out), and a line for every entry that is not one: a symlink (never followed, whatever
    it points at) or a special file (a FIFO, a socket, a device), which nothing hashed."""
    found, untrusted = [], []
    for folder, dirs, names in os.walk(run_dir):
        dirs.sort()
        for name in [*names, *(d for d in dirs if (Path(folder) / d).is_symlink())]:
            path = Path(folder) / name
            relative = path.relative_to(run_dir).as_posix()
            if path.is_symlink():
                untrusted.append(f"symlink (not hashed, not followed): {relative} -> "
                                 f"{os.readlink(path)}")
            elif path.is_file():
                found.append(relative)
            elif not path.is_dir():
                untrusted.append(f"special file (not hashed): {relative}")
    return sorted(f for f in found if f not in (MANIFEST, SIGNATURE)), sorted(untrusted)


def _line(digest: str, name: str) -> str:
    if "\n" in name or "\\" in name:
        raise RollbookError(f"file name {name!r} cannot be listed in {MANIFEST}.",
                            hint="rename it without newlines or backslashes.")
    return f"{digest}  {name}\n"


def write_manifest(run_dir: Path) -> Path:
    """Hash every file of the run folder into run_dir/SHA256SUMS (a stale signature goes)."""
    lines = [_line(_manifest_digest(run_dir / name), name) for name in _walk(run_dir)[0]]
    (run_dir / SIGNATURE).unlink(missing_ok=True)
    manifest = run_dir / MANIFEST
    partial = run_dir / f".{MANIFEST}.partial"
    partial.write_text("".join(lines), encoding="utf-8")
    partial.replace(manifest)
    return manifest


def _ssh_keygen(args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["ssh-keygen", *args], input=stdin, capture_output=True,
                              timeout=SSH_KEYGEN_TIMEOUT_S, check=False)
    except FileNotFoundError as exc:
        raise ConfigError("ssh-keygen is not installed, so the record cannot be signed or "
                          "its signature checked.",
                          hint="install OpenSSH's client (Debian: openssh-client).") from exc
    except subprocess.TimeoutExpired as exc:
        raise ConfigError(f"ssh-keygen did not finish within {SSH_KEYGEN_TIMEOUT_S} s (a key "
                          "with a passphrase?).",
                          hint="sign with a key that has no passphrase, or an ssh-agent.") from exc


def sign(run_dir: Path, key: Path) -> Path:
    """Sign run_dir/SHA256SUMS with the SSH private key `key`; returns the signature's path."""
    if not key.is_file():
        raise ConfigError(f"signing key {key} does not exist.",
                          hint="pass the path of an SSH private key (ssh-keygen -t ed25519).")
    manifest = run_dir / MANIFEST
    done = _ssh_keygen(["-Y", "sign", "-f", str(key), "-n", NAMESPACE, "-q", str(manifest)])
    produced = manifest.with_name(MANIFEST + ".sig")
    if done.returncode != 0 or not produced.is_file():
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        raise ConfigError(f"ssh-keygen could not sign {manifest} with {key}: "
                          f"{reason[0] if reason else 'exit ' + str(done.returncode)}.",
                          hint="check the key is an SSH private key readable without a "
                               "passphrase.")
    return produced


def seal(run_dir: Path, key: Path | None = None) -> str:
    """Manifest, and signature when a key is given; a one-line account of what was done."""
    write_manifest(run_dir)
    if key is None:
        return f"{run_dir / MANIFEST} written; unsigned (no signing key given)"
    sign(run_dir, key)
    return f"{run_dir / MANIFEST} written and signed ({run_dir / SIGNATURE})"


@dataclass
class Verification:
    """What `verify` found. ok means every hash matches and, where asked, the signature too."""

    run_dir: Path
    checked: int = 0
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    untrusted: list[str] = field(default_factory=list)  # symlinks, special files, duplicates
    hashed: list[str] = field(default_factory=list)  # files whose hash matched
    signature: str = "unsigned"  # "unsigned", "good (principal)", or why it is bad
    signature_ok: bool | None = None  # None: not checked

    @property
    def ok(self) -> bool:
        return (not (self.changed or self.added or self.missing or self.untrusted)
                and self.signature_ok is not False)

    def lines(self) -> list[str]:
        out = list(self.untrusted)
        out += [f"changed: {name}" for name in self.changed]
        out += [f"added (not in {MANIFEST}): {name}" for name in self.added]
        out += [f"missing: {name}" for name in self.missing]
        mark = self.run_dir / "INTERRUPTED"
        if "INTERRUPTED" in self.hashed and mark.is_file() and not mark.is_symlink():
            out.append(mark.read_text(errors="replace", encoding="utf-8").strip())
        out.append(f"signature: {self.signature}")
        verdict = "verified" if self.ok else "NOT verified"
        out.append(f"{self.run_dir}: {verdict}: {self.checked} files checked, "
                   f"{len(self.changed)} changed, {len(self.added)} added, "
                   f"{len(self.missing)} missing"
                   + (f", {len(self.untrusted)} not trusted" if self.untrusted else ""))
        return out


def _read_manifest(run_dir: Path) -> tuple[dict[str, str], list[str]]:
    """The manifest's entries, and a line for each it cannot be trusted on: a name listed twice
    (sha256sum -c checks both; a verifier that kept one would miss a wrong first hash) or a name
    that leaves the folder or takes a detour (absolute, `..`, `.`, empty parts)."""
    path = run_dir / MANIFEST
    if not run_dir.is_dir():
        raise VerifyError(f"run folder {run_dir} does not exist.",
                          hint="pass a folder under reports/, e.g. reports/latest.")
    if path.is_symlink():  # not the folder's own manifest: nothing in it is read
        return {}, [f"symlink (not read): {MANIFEST} -> {os.readlink(path)}"]
    if not path.is_file():
        raise VerifyError(f"{run_dir} has no {MANIFEST}: it was not sealed by rollbook.",
                          hint="verify a run folder written by rollbook 0.2 or newer.")
    recorded: dict[str, str] = {}
    untrusted = []
    text = path.read_text(errors="replace", encoding="utf-8")
    for number, line in enumerate(text.splitlines(), 1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not name:
            raise VerifyError(f"{path} line {number} is not '<sha256>  <file>'.",
                              hint="the manifest itself was edited; the run cannot be trusted.")
        parts = name.split("/")
        if name.startswith("/") or any(part in ("", ".", "..") for part in parts):
            untrusted.append(f"not a plain path in {MANIFEST} (line {number}): {name}")
        elif name in recorded:
            untrusted.append(f"listed twice in {MANIFEST} (line {number}): {name}")
        recorded.setdefault(name, digest)
        if recorded[name] != digest:
            recorded[name] = ""  # two hashes for one file: neither can be the file's
    return recorded, untrusted


def _check_signature(run_dir: Path, allowed_signers: Path | None, found: Verification) -> None:
    signature = run_dir / SIGNATURE
    if not signature.is_file():
        found.signature = "unsigned"
        found.signature_ok = False if allowed_signers else None
        if allowed_signers:
            found.signature = f"unsigned, but --allowed-signers {allowed_signers} asks for one"
        return
    if allowed_signers is None:
        found.signature = "present, not checked (pass --allowed-signers FILE to check it)"
        return
    if not allowed_signers.is_file():
        raise VerifyError(f"allowed signers file {allowed_signers} does not exist.",
                          hint="one line per signer: '<principal> <key type> <public key>'.")
    who = _ssh_keygen(["-Y", "find-principals", "-s", str(signature), "-f",
                       str(allowed_signers)])
    principals = who.stdout.decode(errors="replace").split()
    if who.returncode != 0 or not principals:
        found.signature, found.signature_ok = "BAD: signed by no allowed signer", False
        return
    manifest = (run_dir / MANIFEST).read_bytes()
    done = _ssh_keygen(["-Y", "verify", "-f", str(allowed_signers), "-I", principals[0], "-n",
                        NAMESPACE, "-s", str(signature)], stdin=manifest)
    if done.returncode == 0:
        found.signature, found.signature_ok = f"good, signed by {principals[0]}", True
    else:
        found.signature = f"BAD: does not match {MANIFEST} (claimed signer {principals[0]})"
        found.signature_ok = False


def verify(run_dir: Path, allowed_signers: Path | None = None) -> Verification:
    """Re-hash every file and compare with SHA256SUMS; check the signature when asked. Nothing
    is trusted that was not hashed: symlinks, special files and doubtful manifest entries are
    named and make the run "NOT verified"."""
    recorded, listed_badly = _read_manifest(run_dir)
    files, odd_entries = _walk(run_dir)
    present = set(files)
    found = Verification(run_dir=run_dir, checked=len(recorded),
                         untrusted=[*odd_entries, *listed_badly])
    found.missing = sorted(set(recorded) - present)
    found.added = sorted(present - set(recorded))
    found.changed = [name for name in sorted(set(recorded) & present)
                     if sha256_file(run_dir / name) != recorded[name]]
    found.hashed = sorted(set(recorded) & present - set(found.changed))
    _check_signature(run_dir, allowed_signers, found)
    return found
