"""Passwords never reach people: DSNs and free text are masked."""
from rollbook.record.redact import redact_dsn, redact_text


def test_url_dsn_password_is_masked():
    assert redact_dsn("postgresql://app:s3cr3t@db:5432/vibes") == "postgresql://app:***@db:5432/vibes"


def test_keyword_dsn_password_is_masked():
    masked = redact_dsn("host=db user=app password=s3cr3t dbname=vibes")
    assert "s3cr3t" not in masked and "password=***" in masked


def test_free_text_masks_urls_keywords_and_named_secrets():
    text = ("connecting to postgresql+psycopg://app:pw1@h/db and password='pw 2' "
            "with token tok-3")
    masked = redact_text(text, secrets=("tok-3",))
    for secret in ("pw1", "pw 2", "tok-3"):
        assert secret not in masked


def test_dsn_without_password_is_unchanged():
    assert redact_dsn("postgresql://app@db/vibes") == "postgresql://app@db/vibes"
