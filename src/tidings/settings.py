"""The one typed settings object, read from ``TIDINGS_*`` environment variables once at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tidings.model.sms_body import check_body_template

#: Signs tracking links when ``TIDINGS_SECRET_KEY`` is not set. It is public, so anyone could forge an
#: unsubscribe link with it: fine in tests, and the server refuses to start with it outside demo mode
#: (``check_secret_key``; ``tidings run --demo`` makes a key of its own).
DEVELOPMENT_SECRET_KEY = "tidings-development-key-not-secret"
#: What the server says when it refuses to start without a secret key.
NO_SECRET_KEY = (
    "TIDINGS_SECRET_KEY is not set: it signs the tracking, unsubscribe and poll links in messages, and without it "
    "anyone could forge them. Make one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`, set "
    "it as TIDINGS_SECRET_KEY for every Tidings process, and keep it private (`tidings run --demo` makes its own)."
)


#: What the server says when bulk mail would carry an ``http://`` one-click unsubscribe URL.
NO_HTTPS_UNSUBSCRIBE = (
    "TIDINGS_PUBLIC_URL is {url!r}: the one-click unsubscribe link in every e-mail is built from it, and RFC 8058 "
    "(and Gmail's and Yahoo's bulk-sender rules) require it to be https. Set TIDINGS_PUBLIC_URL to the https:// "
    "address at which recipients reach this server (`tidings run --demo` allows http for trying Tidings out)."
)


class DkimKeySetting(BaseModel):
    """One sending domain's DKIM key: ``{"selector": "s1", "private_key_file": "/etc/tidings/dkim/s1.pem"}``."""

    model_config = ConfigDict(extra="forbid")
    selector: str = Field(
        pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$",
        description="The selector the public key is published under (`<selector>._domainkey.<domain>`).",
    )
    private_key_file: Path = Field(description="A PEM file of the RSA private key (made by `tidings dkim keygen`).")


class Settings(BaseSettings):
    """Process-level configuration. Account-level choices (time zone, delivery window) live in the database."""

    model_config = SettingsConfigDict(env_prefix="TIDINGS_", extra="forbid")

    database_url: str = Field(
        default="sqlite:///./tidings.db",
        description="SQLAlchemy URL: sqlite:///path or postgresql://user@host/db.",
    )
    clock: Literal["system", "manual"] = Field(
        default="system", description="`manual` freezes time until POST /api/v1/clock/advance moves it."
    )
    runtime: Literal["direct", "dbos"] = Field(
        default="direct",
        description="How chunks run: in this process (`direct`) or through DBOS queues (`dbos`). DBOS keeps its "
        "state in a second database it creates beside ours: `<name>_dbos` on PostgreSQL (the user needs the right "
        "to create it), `<file>.dbos.sqlite` beside a SQLite file. `dbos` needs the system clock.",
    )
    chunk_size: int = Field(default=10_000, ge=1, le=100_000, description="Customers advanced per unit of work.")
    delivery_chunk_size: int = Field(
        default=2_000,
        ge=1,
        le=10_000,
        description="Messages claimed, rendered and recorded together (fewer for a rate-limited provider).",
    )
    tick_seconds: float = Field(default=1.0, gt=0, description="Idle pause of the scheduler loop.")
    lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Messages or loyalty requests claimed for a provider and left unfinished this long are claimed "
        "again (customers moving through a campaign need no lease: a chunk's row locks end with its transaction).",
    )
    email_provider: Literal["sandbox", "smtp"] = "sandbox"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = Field(default=False, description="Upgrade the connection with STARTTLS (port 587).")
    smtp_implicit_tls: bool = Field(default=False, description="TLS from the first byte (SMTPS, port 465).")
    smtp_ca_file: str | None = Field(
        default=None,
        description="A PEM file of the certificate authorities to trust for the relay's certificate (a relay with "
        "a private CA); the system's are trusted otherwise.",
    )
    smtp_connections: int = Field(
        default=32,
        ge=1,
        le=256,
        description="SMTP connections per worker, each carrying one message at a time (and at most one message in "
        "doubt after a crash); 32 stays under Postfix's default limit of 50 connections per client.",
    )
    email_rate_limit: float = Field(default=0, ge=0, description="E-mails per second per worker; 0 = unlimited.")
    dkim_keys: dict[str, DkimKeySetting] = Field(
        default_factory=dict,
        description="DKIM keys by sending domain, JSON: "
        '`{"example.com": {"selector": "s1", "private_key_file": "/etc/tidings/dkim/example.com.s1.pem"}}`. '
        "Mail from a domain (or a subdomain of one) listed here is signed; see docs/deliverability.md.",
    )

    # -- SMS, Viber and push providers (`sandbox`: recorded as sent, visible in GET /api/v1/messages) ------------
    sms_provider: Literal["sandbox", "http"] = "sandbox"
    sms_url: str | None = Field(default=None, description="The HTTP SMS gateway's send endpoint (POST, JSON).")
    sms_auth_header: SecretStr | None = Field(
        default=None, description="One header sent with every request, `Name: value`, e.g. `Authorization: Bearer …`."
    )
    sms_body_template: str = Field(
        default='{"to": "{to}", "text": "{text}", "sender": "{sender}", "reference": "{key}"}',
        description="The JSON body; `{to}`, `{text}`, `{sender}` and `{key}` (the idempotency key) are replaced "
        "by JSON-escaped values inside strings.",
    )
    sms_id_field: str = Field(
        default="id", description="Where the gateway's message id is in its JSON answer (dotted path)."
    )
    sms_sender: str = Field(default="Tidings", max_length=64, description="Default sender name (alphanumeric id).")
    sms_rate_limit: float = Field(default=0, ge=0, description="SMS per second per worker; 0 = unlimited.")
    sms_concurrency: int = Field(default=4, ge=1, le=256, description="SMS requests in flight per worker.")
    viber_provider: Literal["sandbox", "http"] = "sandbox"
    viber_url: str | None = Field(default=None, description="The HTTP Viber gateway's send endpoint (POST, JSON).")
    viber_auth_header: SecretStr | None = Field(default=None, description="`Name: value`, as for SMS.")
    viber_rate_limit: float = Field(default=0, ge=0)
    viber_concurrency: int = Field(default=4, ge=1, le=256)
    push_provider: Literal["sandbox", "fcm"] = "sandbox"
    fcm_url: str | None = Field(
        default=None,
        description="FCM HTTP v1 base, e.g. https://fcm.googleapis.com/v1/projects/<project>; "
        "messages go to {fcm_url}/messages:send.",
    )
    fcm_access_token: SecretStr | None = Field(default=None, description="OAuth 2 bearer token for FCM.")
    push_rate_limit: float = Field(default=0, ge=0)
    push_concurrency: int = Field(default=8, ge=1, le=256)
    provider_timeout_seconds: float = Field(default=10.0, gt=0, description="HTTP provider request timeout.")

    # -- delivery policy ---------------------------------------------------------------------------------------
    message_lifetime_minutes: int = Field(
        default=3 * 24 * 60,
        ge=1,
        description="How long a message is attempted, from its first attempt, when its action sets no lifetime; "
        "then it becomes undeliverable.",
    )
    delivery_max_attempts: int = Field(default=8, ge=1, le=100)
    retry_base_seconds: float = Field(
        default=60.0, gt=0, description="First retry delay after a transient failure; doubles at each attempt."
    )
    retry_max_seconds: float = Field(default=3600.0, gt=0, description="Longest retry delay.")

    # -- the loyalty program (bonus accruals, audience and subscription sync) -------------------------------
    loyalty_adapter: Literal["builtin", "http"] = Field(
        default="builtin",
        description="`builtin`: bonuses credit the internal points ledger (stand-alone use); `http`: requests go to "
        "the loyalty program's JSON API at TIDINGS_LOYALTY_URL.",
    )
    loyalty_url: str | None = Field(
        default=None,
        description="Base URL of the loyalty program's API; requests are POSTed to {url}/bonuses, {url}/audiences "
        "and {url}/subscriptions.",
    )
    loyalty_auth_header: SecretStr | None = Field(
        default=None, description="One header sent with every request, `Name: value`, e.g. `Authorization: Bearer …`."
    )
    loyalty_timeout_seconds: float = Field(default=10.0, gt=0, le=300, description="Timeout of one request.")
    loyalty_max_attempts: int = Field(
        default=8, ge=1, le=100, description="Attempts of a request that keeps failing transiently before it fails."
    )
    loyalty_retry_base_seconds: float = Field(
        default=30.0, gt=0, description="Delay before the first retry after a transient failure; doubles each time."
    )
    loyalty_retry_max_seconds: float = Field(default=3600.0, gt=0, description="Longest delay between two attempts.")
    loyalty_chunk_size: int = Field(default=200, ge=1, le=10_000, description="Requests claimed at a time.")
    loyalty_concurrency: int = Field(default=8, ge=1, le=256, description="HTTP requests in flight per worker.")
    # -- bounces and complaints as the providers report them (docs/deliverability.md) ---------------------------
    ses_topic_arns: list[str] = Field(
        default_factory=list,
        description="Amazon SNS topics whose notifications (SES bounces, complaints, deliveries) are accepted at "
        "POST /api/v1/feedback/ses, JSON list of ARNs.",
    )
    sns_url_pattern: str = Field(
        default=r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/",
        description="Where SNS signing certificates and subscription confirmations may be fetched from (a regular "
        "expression a URL must match); anything else is refused unfetched.",
    )
    sendgrid_webhook_public_key: str | None = Field(
        default=None,
        description="The verification key of SendGrid's signed event webhook (base64, as SendGrid shows it, or PEM).",
    )
    mailgun_webhook_signing_key: SecretStr | None = Field(
        default=None, description="Mailgun's HTTP webhook signing key (Sending → Webhooks)."
    )
    postmark_webhook_credentials: SecretStr | None = Field(
        default=None,
        description="`user:password` that Postmark's webhook URL carries (https://user:password@host/…): Postmark "
        "authenticates webhooks by HTTP basic auth.",
    )
    feedback_max_age_seconds: int = Field(
        default=900, ge=60, description="A signed webhook whose timestamp is older than this is refused (replays)."
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The address customers' links (tracking, unsubscribe, polls) point to. Default: "
        "http://<host>:<port> of this server, following TIDINGS_HOST / TIDINGS_PORT and `--host` / `--port`.",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SECRET_KEY),
        description="Signs the open, click and unsubscribe links in e-mails (HMAC-SHA256): at least 16 characters, "
        "random and private in production. Changing it breaks the links in e-mails already sent.",
    )
    session_hours: float = Field(
        default=12, gt=0, le=24 * 30, description="How long an editor sign-in lasts before signing in again."
    )
    # -- Argon2id for editor passwords: the argon2-cffi defaults (RFC 9106's second recommendation, as pwdlib's
    # ``PasswordHash.recommended()``) take about 50 ms a hash on one core, which is the point. Lower them only where
    # nobody's password is kept: the test suite, which hashes and checks hundreds. A stored hash names its own
    # parameters, so a change applies to passwords set afterwards and every stored one still verifies.
    password_hash_time_cost: int = Field(default=3, ge=1, le=100, description="Argon2id passes over the memory.")
    password_hash_memory_kib: int = Field(
        default=65_536, ge=8, le=4_194_304, description="Argon2id memory per hash, in KiB."
    )
    password_hash_parallelism: int = Field(default=4, ge=1, le=64, description="Argon2id lanes per hash.")
    host: str = Field(default="127.0.0.1", description="Address the API listens on (`--host`).")
    port: int = Field(default=8000, ge=1, le=65_535, description="Port the API listens on (`--port`).")
    max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="Largest request body the API reads (JSON); a larger one is refused with 413.",
    )
    max_upload_bytes: int = Field(
        default=512 * 1024 * 1024,
        ge=1024,
        description="Largest file a CSV upload may send (streamed to a temporary file); a larger one is refused "
        "with 413.",
    )

    @field_validator("database_url")
    @classmethod
    def _normalise_url(cls, value: str) -> str:
        if value.startswith("postgres://"):
            value = "postgresql://" + value.removeprefix("postgres://")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        if not (value.startswith("sqlite") or value.startswith("postgresql+psycopg://")):
            raise ValueError("TIDINGS_DATABASE_URL must start with sqlite:/// or postgresql://")
        return value

    @field_validator("sms_auth_header", "viber_auth_header")
    @classmethod
    def _header_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            name, colon, rest = value.get_secret_value().partition(":")
            if not colon or not name.strip() or not rest.strip() or " " in name.strip():
                raise ValueError("an auth header is `Name: value`, e.g. `Authorization: Bearer <token>`")
        return value

    @field_validator("sms_body_template")
    @classmethod
    def _body_template(cls, value: str) -> str:
        check_body_template(value)
        return value

    @model_validator(mode="after")
    def _providers_configured(self) -> Settings:
        needs = {
            ("sms_provider", "http"): ("sms_url",),
            ("viber_provider", "http"): ("viber_url",),
            ("push_provider", "fcm"): ("fcm_url", "fcm_access_token"),
        }
        for (choice, value), fields in needs.items():
            if getattr(self, choice) == value:
                for name in fields:
                    if not getattr(self, name):
                        raise ValueError(f"TIDINGS_{choice.upper()}={value} needs TIDINGS_{name.upper()}")
        return self

    @model_validator(mode="after")
    def _smtp_tls(self) -> Settings:
        if self.smtp_starttls and self.smtp_implicit_tls:
            raise ValueError(
                "TIDINGS_SMTP_STARTTLS and TIDINGS_SMTP_IMPLICIT_TLS exclude each other: STARTTLS upgrades a plain "
                "connection (port 587), implicit TLS starts encrypted (port 465); set the one your relay speaks"
            )
        if self.smtp_ca_file is not None and not Path(self.smtp_ca_file).is_file():
            raise ValueError(f"TIDINGS_SMTP_CA_FILE={self.smtp_ca_file!r} is not a file")
        return self

    @field_validator("loyalty_auth_header")
    @classmethod
    def _loyalty_header_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            name, colon, rest = value.get_secret_value().partition(":")
            if not colon or not name.strip() or not rest.strip() or " " in name.strip():
                raise ValueError("an auth header is `Name: value`, e.g. `Authorization: Bearer <token>`")
        return value

    @model_validator(mode="after")
    def _loyalty_configured(self) -> Settings:
        if self.loyalty_adapter == "http":
            if not self.loyalty_url:
                raise ValueError("TIDINGS_LOYALTY_ADAPTER=http needs TIDINGS_LOYALTY_URL")
            if not self.loyalty_url.startswith(("http://", "https://")):
                raise ValueError(f"TIDINGS_LOYALTY_URL must be an http:// or https:// URL, not {self.loyalty_url!r}")
        return self

    @model_validator(mode="after")
    def _public_url_follows_the_address(self) -> Settings:
        if "public_url" not in self.model_fields_set:
            self.__dict__["public_url"] = _address(self.host, self.port)  # not marked as given
        return self

    def with_address(self, host: str | None = None, port: int | None = None) -> Settings:
        """These settings listening on ``host`` / ``port``; a public URL that was not given follows them."""
        update: dict[str, object] = {"host": host or self.host, "port": port or self.port}
        changed = self.model_copy(update=update)
        if "public_url" not in self.model_fields_set:
            changed.__dict__["public_url"] = _address(changed.host, changed.port)
            changed.__pydantic_fields_set__.discard("public_url")
        return changed

    def check_secret_key(self) -> None:
        """Refuse to serve with the public development key (the entry points call this outside demo mode)."""
        if self.secret_key.get_secret_value() == DEVELOPMENT_SECRET_KEY:
            raise ValueError(NO_SECRET_KEY)

    def check_public_url(self) -> None:
        """Refuse to send bulk e-mail whose one-click unsubscribe URL would be ``http://`` (outside demo mode the
        entry points call this when e-mail goes out through SMTP)."""
        if self.email_provider == "smtp" and not self.public_url.lower().startswith("https://"):
            raise ValueError(NO_HTTPS_UNSUBSCRIBE.format(url=self.public_url))

    @model_validator(mode="after")
    def _dkim_keys_readable(self) -> Settings:
        for domain, key in self.dkim_keys.items():
            if not key.private_key_file.is_file():
                path = key.private_key_file
                raise ValueError(f"TIDINGS_DKIM_KEYS: the key file of {domain!r}, {path}, is not a file")
        return self

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("TIDINGS_SECRET_KEY must be at least 16 characters; use a long random value")
        return value


def _address(host: str, port: int) -> str:
    """The URL of a server listening on ``host:port`` (one listening on every address is reached on loopback)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"
