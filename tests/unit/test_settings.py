from pathlib import Path

import pytest
from pydantic import ValidationError

from tmr.settings import DEFAULT_ADMIN_PASSWORD, DEFAULT_PASSWORDS, DefaultPasswordExposed, Settings


def test_defaults_are_the_embedded_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "TMR_DATA_DIR",
        "TMR_DATABASE_URL",
        "S3_BUCKET",
        "TMR_BLOB_STORE",
        "HF_ENDPOINT",
        "GITHUB_API_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.resolved_database_url == f"sqlite:///{Path('var/tmr.sqlite3').resolve()}"
    assert settings.resolved_blob_store == "filesystem"
    assert settings.hf_endpoint == "https://huggingface.co"
    assert settings.github_api_url == "https://api.github.com"


def test_original_deployment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3_BUCKET", "models")
    monkeypatch.setenv("TMR_DATABASE_URL", "postgres://u@db/tmr")
    monkeypatch.setenv("LOG_LEVEL", "2")
    monkeypatch.setenv("TMR_CORS_ORIGINS", "https://a.example, https://b.example")
    settings = Settings()
    assert settings.resolved_blob_store == "s3"
    assert settings.resolved_database_url == "postgresql+psycopg://u@db/tmr"
    assert settings.log_level == 2
    assert settings.cors_origins == ["https://a.example", "https://b.example"]


@pytest.mark.parametrize(("value", "level"), [("0", 0), ("debug", 2), ("info", 1), ("silent", 0)])
def test_log_level_names(monkeypatch: pytest.MonkeyPatch, value: str, level: int) -> None:
    monkeypatch.setenv("LOG_LEVEL", value)
    assert Settings().log_level == level


def test_both_spellings_of_the_default_password() -> None:
    spellings = Settings().passwords
    assert len(spellings) == 2
    assert spellings[0].endswith("DROP TABLE packages;")
    assert spellings[1].endswith("DROP TABLE artifacts;")


def test_a_non_ascii_admin_token_is_refused_at_startup() -> None:
    with pytest.raises(ValidationError, match="AUTH_TOKEN must be ASCII"):
        Settings(AUTH_TOKEN="clé")
    assert Settings(AUTH_TOKEN="plain-token").auth_token == "plain-token"


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "[::1]", "localhost"])
def test_the_default_admin_password_is_fine_on_loopback(host: str) -> None:
    Settings(TMR_ADMIN_PASSWORD=DEFAULT_ADMIN_PASSWORD).check_exposure(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "::", "registry.example.com", None])
@pytest.mark.parametrize("password", sorted(DEFAULT_PASSWORDS))
def test_the_default_admin_password_is_refused_beyond_this_machine(host: str | None, password: str) -> None:
    settings = Settings(TMR_ADMIN_PASSWORD=password, TMR_ALLOW_DEFAULT_ADMIN_PASSWORD=False)
    with pytest.raises(DefaultPasswordExposed, match="TMR_ALLOW_DEFAULT_ADMIN_PASSWORD"):
        settings.check_exposure(host)
    # Unless the operator says so, or chose a password of their own.
    Settings(TMR_ADMIN_PASSWORD=password, TMR_ALLOW_DEFAULT_ADMIN_PASSWORD=True).check_exposure(host)
    Settings(TMR_ADMIN_PASSWORD="a-password-of-our-own").check_exposure(host)
