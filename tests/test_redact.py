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


# -- every shape of secret a log line carries, generated ---------------------------------------
import datetime as dt  # noqa: E402
import json  # noqa: E402
import string  # noqa: E402

from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from rollbook.measure import logs  # noqa: E402

# A bare secret ends at whitespace or a quote; a quoted one may hold anything else.
BARE = st.text(alphabet=string.ascii_letters + string.digits + "!#$%&()*+,-./:;<=>?@[]^_`{|}~",
               min_size=8, max_size=30)
QUOTED = st.text(alphabet=string.ascii_letters + string.digits + " !#$%&()*+,-./:;<=>?@[]^_`{|}~",
                 min_size=8, max_size=30).filter(lambda s: s.strip() == s)
KEYS = st.sampled_from(["password", "PASSWORD", "Password", "passwd", "pwd", "db_password",
                        "secret", "client_secret", "SECRET_KEY", "token", "access_token",
                        "GITHUB_TOKEN", "api_key", "apiKey", "X-Api-Key", "api-key",
                        "PGPASSWORD", "private_key"])
SHAPES = {
    "json": lambda k, s: json.dumps({"level": "error", k: s, "message": "login failed"}),
    "key=value": lambda k, s: f"{k}={s} user=app",
    "key: value": lambda k, s: f"{k}: {s}",
    "quoted key=value": lambda k, s: f"{k}='{s}' and more",
    "env": lambda k, s: f"export {k}=\"{s}\"",
    "url": lambda k, s: f"connecting to postgresql://app:{s}@db:5432/vibes failed",
    "bearer": lambda k, s: f"Authorization: Bearer {s}",
    "authorization json": lambda k, s: json.dumps({"headers": {"Authorization": f"Basic {s}"}}),
    "sql": lambda k, s: f"ALTER ROLE app PASSWORD '{s}'",
}
QUOTED_SHAPES = ("json", "quoted key=value", "env", "authorization json", "sql")


@st.composite
def secret_lines(draw):
    shape = draw(st.sampled_from(sorted(SHAPES)))
    secret = draw(QUOTED if shape in QUOTED_SHAPES and shape != "authorization json" else BARE)
    if shape == "sql":
        secret = secret.replace("'", "")
    if shape == "url":
        secret = secret.replace("/", "")
    if shape in ("bearer", "authorization json"):
        secret = draw(st.text(alphabet=string.ascii_letters + string.digits + "._~+/=-",
                              min_size=8, max_size=40))
    prefix = draw(st.text(alphabet=string.ascii_letters + " :", max_size=20))
    key = draw(KEYS)
    line = prefix + SHAPES[shape](key, secret)
    assume(secret not in prefix + SHAPES[shape](key, "") + "2026-12-07 10:00:00 UTC [42] ERROR:")
    return secret, line


@settings(max_examples=400, deadline=None)
@given(secret_lines())
def test_no_generated_secret_survives_redaction(case):
    secret, line = case
    assert secret not in redact_text(line)
    # attached as JSON (its quotes escaped), and as the monitoring check's top error messages
    assert secret not in redact_text(json.dumps({"line": line}))
    stamp = "2026-12-07 10:00:00 UTC"
    window = logs.window(logs.parse(f"{stamp} [42] ERROR:  {line}\n", "postgres"), "pg",
                         dt.datetime(2026, 12, 7, 9, tzinfo=dt.timezone.utc),
                         dt.datetime(2026, 12, 7, 11, tzinfo=dt.timezone.utc))
    # the messages themselves: a secret may spell a field name of the window ("errors_p")
    messages = [top["message"] for top in window.to_dict()["top"]]
    assert window.errors == 1 and messages and not any(secret in m for m in messages)


def test_planted_defect_each_shape_is_a_secret_the_text_holds():
    """Unmasked, every shape carries its secret: the property above can fail."""
    for shape, make in SHAPES.items():
        assert "s3cr3t-Value" in make("password", "s3cr3t-Value"), shape


def test_words_that_are_not_secrets_stay():
    text = 'password authentication failed for user "bob" at postgresql://app@db/vibes'
    assert redact_text(text) == text
