"""Process settings (environment, `SFA_` prefix).

Company-level business settings (timezone, thresholds) live in the database, see
`sfa.company`; this module only holds what a process needs to start.
"""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The development secret this repository once defaulted to: public, so refused in
# production and, anywhere, by `sfa serve` on a non-loopback address (sfa/auth/signing_key.py).
KNOWN_DEV_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me"


# The largest purchase-order document a deployment may accept (po_max_upload_bytes).
PO_UPLOAD_CEILING = 100 * 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SFA_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "postgresql+psycopg://sfa@127.0.0.1:5544/sfa"
    db_pool_size: int = 20
    # Worker threads per API process for the blocking (database) parts of requests. Few:
    # the work is CPU-bound Python under one GIL, and more threads only add switching and
    # GIL hand-offs (check-in p99 fell from ~200 to ~90 ms going from 40 to 3-4 threads
    # in bench/check_in.py). Requests beyond the pool size wait before opening a
    # transaction, so a thread never waits for a connection (see api/deps.py).
    api_threads: int = 4
    # The longest any statement waits for a lock, in milliseconds (0: no limit). The API
    # answers 503 `busy` with Retry-After when a request hits it (its transaction is rolled
    # back: client ids make the retry safe); a job that hits it runs again next time.
    db_lock_timeout_ms: int = 1000
    # The database URL points at a transaction-mode pooler (pgbouncer): no prepared
    # statements, the lock timeout set per transaction, no principal cache (it LISTENs,
    # which a pooled connection cannot); docs/scaling.md.
    db_transaction_pooler: bool = False
    # A streaming replica for reports, exports and the console's read-only pages
    # (sfa/replica.py; docs/scaling.md). Reads go to the primary while it lags more than
    # replica_max_lag_seconds (measured at most every replica_check_seconds per process).
    database_replica_url: str | None = None
    replica_max_lag_seconds: float = 5.0
    replica_check_seconds: float = 1.0
    # Many companies, one database each (sfa/tenants, docs/tenancy.md). The company served
    # from database_url, also for requests that name no company; its slug is what its
    # tokens carry. tenants_url: the registry database of the other companies (None: this
    # deployment is the default company alone, as before). tenant_base_domain: requests to
    # <slug>.<base domain> are routed to that company (else only the X-Company header).
    default_company: str = "default"
    tenants_url: str | None = None
    tenant_base_domain: str | None = None
    # What one process keeps per company of the registry: pooled connections kept idle
    # (a burst may take up to db_pool_size, closed when given back), companies whose
    # pools stay open at once (least recently used closed first), seconds a company's
    # pool stays open unused, and how long a registry entry is trusted before it is read
    # again (a company disabled elsewhere is refused within that time).
    tenant_pool_size: int = Field(2, ge=1)
    tenant_max_engines: int = Field(64, ge=1)
    tenant_idle_seconds: float = Field(300.0, gt=0)
    tenant_cache_seconds: float = Field(5.0, ge=0)
    # None: a random secret kept in jwt_secret_file (sfa/auth/signing_key.py).
    jwt_secret: SecretStr | None = None
    # Where a generated secret is kept; default: <data_dir>/jwt_secret.
    jwt_secret_file: Path | None = None
    # Files the service keeps for itself, outside the repository.
    data_dir: Path = Path.home() / ".local" / "state" / "sfa"
    access_token_minutes: int = 15
    refresh_token_days: int = 14
    login_max_failures: int = 5
    # Failed logins from one client address (any usernames) within login_lock_minutes
    # before that address is locked out for as long: a password sprayed over many users.
    login_max_failures_per_client: int = 50
    login_lock_minutes: int = 15
    # Requests per minute per user and per API key (api/ratelimit.py); 0: no limit. Per
    # API process: with N processes behind a balancer, divide by N (docs/scaling.md).
    rate_limit_user_per_minute: int = 600
    rate_limit_api_key_per_minute: int = 3000
    log_level: str = "INFO"

    # Notifications (sfa/notifications). Channels without a URL/host are not wired.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_from: str = "SFA <no-reply@localhost>"
    sms_gateway_url: str | None = None
    sms_gateway_api_key: SecretStr | None = None
    sms_sender_id: str = "SFA"
    push_url: str | None = None
    push_server_key: SecretStr | None = None
    notify_timeout_s: float = 10.0
    notify_batch_size: int = 100
    notify_max_attempts: int = 6
    # A row left 'sending' longer than this is treated as a crashed sender (see sender.py).
    notify_lease_minutes: int = 10
    # Per recipient (user or customer), per channel except in-app, per rolling hour.
    notify_rate_limit_per_hour: int = 10
    # ERP connection (Tryton JSON-RPC); erp_url None = ERP sync disabled.
    erp_url: str | None = None  # http://host:port, without the database
    erp_database: str = ""
    erp_user: str = ""
    erp_password: SecretStr = SecretStr("")  # never logged (SecretStr hides it in repr)
    erp_timeout_s: float = 30.0
    # The Tryton party category that marks customers (integrations/erp/tryton/pulls.py).
    erp_customer_category: str = "Customer"

    # Purchase-order intake (issue 17). Largest document accepted (upload or e-mail),
    # checked from Content-Length before the body is read.
    # At most PO_UPLOAD_CEILING: the upload route's body limit (api/routers/purchase_orders.py).
    po_max_upload_bytes: int = Field(20 * 1024 * 1024, gt=0, le=PO_UPLOAD_CEILING)
    # Inbound SMTP address for e-mailed POs (integrations/pdf/mailbox.py); off by default.
    po_smtp_enabled: bool = False
    po_smtp_host: str = "127.0.0.1"
    po_smtp_port: int = 2525
    # Accepted recipients (comma-separated); mail to any other address is refused.
    po_smtp_recipients: str = "po@localhost"

    # Webhooks (sfa/webhooks, docs/webhooks.md). URLs that resolve to private (RFC 1918,
    # unique-local), loopback or link-local addresses are refused unless allowed here;
    # cloud metadata addresses always are. Loopback alone: a receiver on this machine
    # (development, the tests).
    webhooks_allow_private: bool = False
    webhooks_allow_loopback: bool = False
    webhooks_timeout_s: float = Field(15.0, gt=0, le=60)
    webhooks_workers: int = Field(16, ge=1, le=128)
    webhooks_batch_size: int = Field(200, ge=1, le=5000)
    # Seconds the dispatcher sleeps when it found nothing to do.
    webhooks_poll_seconds: float = Field(0.1, gt=0, le=60)

    @model_validator(mode="after")
    def _no_default_secret_in_production(self) -> "Settings":
        secret = self.jwt_secret.get_secret_value() if self.jwt_secret else None
        if self.env == "production" and secret == KNOWN_DEV_JWT_SECRET:
            raise ValueError("SFA_JWT_SECRET must be set to a private value in production")
        return self

    def jwt_secret_path(self) -> Path:
        return self.jwt_secret_file or self.data_dir / "jwt_secret"

    # Kept out of repr so that logging the settings never prints the database password.
    def safe_database_url(self) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.database_url).render_as_string(hide_password=True)


@lru_cache
def get_settings() -> Settings:
    return Settings()
