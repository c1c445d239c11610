"""rollbook.runbook.releases: the reference service's releases in a real git repository (one tag
per release, paired with its Alembic revision), and the runbook's code rollback: check out the
previous tag, reinstall it into a fresh virtualenv with real pip (offline), start the service
from it and see /health name the release."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from alembic import command

from rollbook.runbook.releases import (
    GIT_IDENTITY,
    VIBES_RELEASES,
    ReleaseError,
    ReleaseRepo,
    health_reports_release,
)
from rollbook.runbook.service import vibes_service
from rollbook.runbook.service_client import read_health
from rollbook_vibes.api.config import ConfigError, installed_release
from rollbook_vibes.migrations_config import REVISION_INTEGER, REVISION_UUID, alembic_config


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> ReleaseRepo:
    return ReleaseRepo.create(tmp_path_factory.mktemp("releases") / "vibes")


def test_the_repository_has_one_tag_per_release_paired_with_its_revision(repo):
    assert sorted(repo.tags()) == sorted(r.name for r in VIBES_RELEASES)
    assert repo.pairs() == {"pre-uuid-migration": REVISION_INTEGER,
                            "uuid-migration": REVISION_UUID}
    assert repo.release_for(REVISION_INTEGER) == "pre-uuid-migration"
    commits = {tag: repo.git("rev-parse", f"{tag}^{{commit}}") for tag in repo.tags()}
    assert len(set(commits.values())) == 2
    # the work tree is the release deployed now, the last one, with nothing uncommitted
    assert repo.git("rev-parse", "HEAD") == commits["uuid-migration"]
    assert repo.git("status", "--porcelain") == ""
    with pytest.raises(ReleaseError, match=r"0 releases .* serve Alembic revision 0009"):
        repo.release_for("0009")


def test_the_previous_release_runs_from_its_own_virtualenv_and_health_names_it(
        repo, pg_server, tmp_path):
    """The drill's way back in small: the uuid release serves 0002, the database goes back to
    0001, and the previous tag, checked out and reinstalled, serves it; the service's id mode
    comes from the checked-out release's configuration (no flags set)."""
    name = f"rb_releases_{uuid.uuid4().hex[:8]}"
    pg_server.create_database(name)
    dsn = pg_server.dsn(name)
    try:
        command.upgrade(alembic_config(dsn), REVISION_UUID)
        service = vibes_service(dsn, log_path=tmp_path / "service.log",
                                maintenance_file=tmp_path / "maintenance")
        for flag in ("UUID_ENABLED", "USE_INTEGER_IDS"):
            service.env.pop(flag)
        current = repo.install("uuid-migration", tmp_path / "venvs")
        service.use_interpreter(current.python, cwd=current.venv)
        with service:
            body = read_health(service.base_url).observed["response"]["body"]
            assert (body["release"], body["id_mode"]) == ("uuid-migration", "uuid")
            command.downgrade(alembic_config(dsn), "-1")
            service.stop()
            previous = repo.install(repo.release_for(REVISION_INTEGER), tmp_path / "venvs")
            assert previous.commit == repo.git("rev-parse", "pre-uuid-migration^{commit}")
            assert previous.venv.parent == tmp_path / "venvs" and previous.install_s > 0
            service.use_interpreter(previous.python, cwd=previous.venv)
            service.start()
            health = read_health(service.base_url)
            assert health_reports_release(health, "pre-uuid-migration").ok
            assert health.observed["response"]["body"]["id_mode"] == "integer"
            assert previous.to_dict()["release"]["revision"] == REVISION_INTEGER
    finally:
        pg_server.drop_database(name)


def test_a_service_still_on_the_working_tree_build_fails_the_release_check(pg_server, tmp_path):
    name = f"rb_releases_{uuid.uuid4().hex[:8]}"
    pg_server.create_database(name)
    dsn = pg_server.dsn(name)
    try:
        command.upgrade(alembic_config(dsn), REVISION_INTEGER)
        with vibes_service(dsn, log_path=tmp_path / "service.log",
                           maintenance_file=tmp_path / "maintenance") as service:
            verdict = health_reports_release(read_health(service.base_url),
                                             "pre-uuid-migration")
        assert not verdict.ok
        assert verdict.summary.startswith("/health reports release None, expected "
                                          "'pre-uuid-migration'. Hint: ")
    finally:
        pg_server.drop_database(name)


def test_a_missing_tag_is_one_line_with_a_hint_and_leaves_nothing(repo, tmp_path):
    head = repo.git("rev-parse", "HEAD")
    with pytest.raises(ReleaseError) as caught:
        repo.install("pre-uuid-migratoin", tmp_path / "venvs")
    said = str(caught.value)
    assert "\n" not in said and "Traceback" not in said
    assert said.startswith(f"the release repository {repo.path} has no tag 'pre-uuid-migratoin'")
    assert "Hint: tag the release first" in said
    assert not (tmp_path / "venvs").exists() and repo.git("rev-parse", "HEAD") == head


def test_a_release_that_does_not_install_is_one_line_with_a_hint_and_leaves_no_venv(tmp_path):
    repo = ReleaseRepo.create(tmp_path / "vibes")
    (repo.path / "release_backend.py").write_text(
        "def build_wheel(*args, **kwargs):\n    raise RuntimeError('planted: no wheel')\n")
    repo.git(*GIT_IDENTITY, "commit", "-q", "-am", "a release that does not build")
    repo.git(*GIT_IDENTITY, "tag", "broken")
    with pytest.raises(ReleaseError) as caught:
        repo.install("broken", tmp_path / "venvs")
    said = str(caught.value)
    assert "\n" not in said and "Traceback" not in said
    assert said.startswith(f"pip install {repo.path} exited with code 1: RuntimeError: "
                           "planted: no wheel Hint: run `python -m pip install")
    assert list((tmp_path / "venvs").iterdir()) == []


def test_a_release_file_that_is_not_a_release_is_a_config_error(tmp_path):
    assert installed_release(tmp_path / "absent.json") is None
    release = tmp_path / "release.json"
    release.write_text(json.dumps({"name": "uuid-migration", "id_mode": "uuid"}))
    assert installed_release(release)["id_mode"] == "uuid"
    for broken in ("{not json", json.dumps({"name": "x", "id_mode": "hex"}), "[]"):
        release.write_text(broken)
        with pytest.raises(ConfigError, match=r"Hint: reinstall the release from its tag\.$"):
            installed_release(release)


def test_the_working_tree_is_not_a_release():
    assert not (Path(__file__).parents[1] / "rollbook_vibes" / "release.json").exists()
