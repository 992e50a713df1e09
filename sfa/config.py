"""Process settings (environment, `SFA_` prefix).

Company-level business settings (timezone, thresholds) live in the database, see
`sfa.company`; this module only holds what a process needs to start.
"""

from functools import lru_cache
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development-only secret: refused outside development so that a forgotten setting
# can never sign production tokens with a value that is public in this repository.
_DEV_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SFA_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "postgresql+psycopg://sfa@127.0.0.1:5544/sfa"
    db_pool_size: int = 10
    jwt_secret: SecretStr = SecretStr(_DEV_JWT_SECRET)
    access_token_minutes: int = 15
    refresh_token_days: int = 14
    login_max_failures: int = 5
    login_lock_minutes: int = 15
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _no_default_secret_in_production(self) -> "Settings":
        if self.env == "production" and self.jwt_secret.get_secret_value() == _DEV_JWT_SECRET:
            raise ValueError("SFA_JWT_SECRET must be set to a private value in production")
        return self

    # Kept out of repr so that logging the settings never prints the database password.
    def safe_database_url(self) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.database_url).render_as_string(hide_password=True)


@lru_cache
def get_settings() -> Settings:
    return Settings()
