"""Settings from the environment (prefix ``YILIAN_``) and an optional ``.env`` file."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration; every field can be set as ``YILIAN_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="YILIAN_", env_file=".env", extra="ignore")

    database_url: str = Field(default="sqlite:///./var/yilian.db")
    var_dir: Path = Field(default=Path("./var"))
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str = ""
    timezone: str = "Asia/Shanghai"
    session_ttl_hours: int = 12
    login_max_failures: int = 5
    login_window_minutes: int = 15
    cookie_secure: bool = False
    sql_echo: bool = False
    db_pool_size: int = 10  # PostgreSQL connections kept per process
    db_max_overflow: int = 20
    db_pool_timeout: float = 30.0
    dispatch_interval_seconds: float = 1.0
    jobs_enabled: bool = True  # the server runs the scheduled jobs (23:00 settlement, …) itself
    jobs_interval_seconds: float = 5.0
    clock_file: Path | None = None  # training/test only: the server's "now" is read from this file

    def resolved_secret(self) -> str:
        """Return the secret key, creating and keeping one under ``var_dir`` when none is set."""
        if self.secret_key:
            return self.secret_key
        self.var_dir.mkdir(parents=True, exist_ok=True)
        path = self.var_dir / "secret.key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings."""
    return Settings()
