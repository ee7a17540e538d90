from datetime import timedelta

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings, dev_default


class InternalClient(BaseModel):
    """A support desk or back-office system that gets tokens by client credentials."""

    client_id: str
    # SHA-256 (hex) of the client secret; the secret itself is never configured here.
    secret_sha256: str
    scopes: list[str]


class IdentitySettings(ServiceSettings):
    """Environment variables start with ``IDENTITY_`` (e.g. ``IDENTITY_HTTP_PORT``)."""

    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore",
                                      populate_by_name=True)

    service_name: str = "identity"
    http_port: int = 8001
    registration_link_hours: int = 72
    # How long an activation code (ID-2) is valid: days, or hours when activation_code_hours
    # is set (it wins; fractions allowed, e.g. for tests).
    activation_code_days: int = 10
    activation_code_hours: float | None = None
    invitation_days: int = 14
    password_reset_minutes: int = 60
    # Reset emails per address per hour; past it the answer is the same 202 and nothing is sent.
    password_reset_emails_per_hour: int = 3
    # A reset by one-time code (ID-8, seed 002): wrong codes a code allows before a new one
    # must be asked for; code requests (any login id) per client IP and hour.
    password_reset_code_tries: int = 5
    password_reset_requests_per_ip_per_hour: int = 30
    # A reset request (link or code, known login id or not) is kept this long past its link's
    # validity (a late click still hears "expired"), then MongoDB removes it (a TTL index).
    password_reset_kept_hours: float = 24
    email_verification_hours: int = 24
    access_token_seconds: int = 600
    refresh_token_days: int = 30
    # Keys the HMAC of short codes (SMS codes, activation codes); the same on every replica.
    code_pepper: SecretStr = dev_default(SecretStr("local-development-pepper-change-me"))
    # Key-encryption key (base64 of 32 random bytes) that the signing keys are encrypted
    # under at rest (AES-256-GCM). Rotating it: the new one here, the old ones in
    # key_encryption_keys_old (comma-separated), then `python -m services.identity.keys rewrap`.
    key_encryption_key: SecretStr = dev_default(
        SecretStr("YmFwLWRldmVsb3BtZW50LWtleS1lbmNyeXB0aW9uISE="))
    key_encryption_keys_old: SecretStr = SecretStr("")
    sms_code_seconds: int = 300
    sms_code_tries: int = 5
    sms_resend_cooldown_seconds: int = 30
    # SMS other than login codes (reset codes, new phone verification) per number per hour.
    sms_per_phone_per_hour: int = 5
    # A new login phone is confirmed with a code sent to it: how long it holds, how many tries.
    phone_verification_seconds: int = 600
    phone_verification_tries: int = 5
    # SMS other than login codes one company's users get per hour: bounds what SMS pumping
    # through many numbers of one company can cost.
    sms_per_company_per_hour: int = 200
    # Second-factor codes (after a correct password) per user, per phone (several accounts may
    # share one) and per company per hour. Only a correct password spends these allowances, so
    # strangers' phone logins or reset requests never block a login.
    second_factor_sms_per_user_per_hour: int = 10
    second_factor_sms_per_phone_per_hour: int = 20
    second_factor_sms_per_company_per_hour: int = 200
    # Mobile-number logins (ID-6; anyone may start one): starts and resends per client IP, codes
    # per number (known or not, the same 429) and the codes one company's numbers get per hour
    # (past it the login answers like an unknown number and nothing is sent).
    phone_logins_per_ip_per_hour: int = 30
    phone_login_sms_per_phone_per_hour: int = 5
    phone_login_sms_per_company_per_hour: int = 50
    # A login attempt (a decoy for an unknown number too) is kept this long after its last
    # code, then MongoDB removes it (a TTL index on expires_at).
    login_attempt_kept_hours: float = 24
    # New login phones one user may propose per hour (each one's code counts towards the
    # number's and the company's SMS allowances too): bounds SMS pumping through phone changes.
    phone_changes_per_user_per_hour: int = 3
    # Login email addresses one user may add per hour; unverified addresses an account may
    # hold at once; verification emails one address may receive per hour (from any account).
    login_emails_per_user_per_hour: int = 5
    unverified_emails_per_user: int = 3
    verification_emails_per_address_per_hour: int = 3
    # Registration starts (verification emails) per email address and per client IP per hour.
    registrations_per_email_per_hour: int = 3
    registrations_per_ip_per_hour: int = 30
    # Consecutive wrong passwords before an account is locked, and for how long.
    login_failures_before_lock: int = 5
    lock_minutes: int = 15
    login_failures_per_hour: int = 100
    internal_clients: list[InternalClient] = Field(default_factory=list)
    signing_key_reload_seconds: float = 60.0
    # -- user administration (ID-2, ID-11; users work package) --
    # Wrong activation codes before the code is used up and a new one must be requested.
    activation_code_tries: int = 5
    # New activation codes a person may ask for per hour (the answer never says whether sent).
    activation_code_requests_per_hour: int = 5
    # Activation-code requests one client IP may make per hour (any addresses).
    activation_code_requests_per_ip_per_hour: int = 30
    # Activation tries (POST /v1/activations) one client IP may make per hour (any addresses).
    activations_per_ip_per_hour: int = 30
    # Invitation imports (CSV/XLSX): largest file, most rows, progress written every N rows.
    invitation_file_max_bytes: int = 5 * 1024 * 1024
    invitation_file_max_rows: int = 10_000
    invitation_job_progress_every: int = 100
    # Rows of an import invited at once (an address is on one invited row at most).
    invitation_job_rows_at_once: int = 8
    # An import whose replica stopped is taken over after this long (seconds).
    invitation_job_lease_seconds: float = 60.0
    # How often a replica looks for imports nobody is working on (seconds).
    invitation_job_poll_seconds: float = 5.0
    # Whether this process works through invitation imports in the background (the uploads
    # it takes are then left to the other processes).
    invitation_jobs: bool = True
    # -- abuse limits of invitations (issue 9) --
    # Single invitations and resends a company may send (a loop of thousands is stopped).
    invitations_per_company_per_hour: int = 100
    invitations_per_company_per_day: int = 500
    # Rows a company may import per day; a larger file than what is left is refused whole.
    invitation_rows_per_company_per_day: int = 10_000
    # Header columns an import reads at most (wider files are refused).
    invitation_file_max_columns: int = 30
    # Uploads parsed at the same time in one process (the others wait their turn).
    invitation_parses_per_process: int = 2
    # Uploads that may wait for a parser in one process; more are answered 503 + Retry-After.
    invitation_parses_waiting_per_process: int = 4
    # What reading one file may cost its child process: CPU seconds, and megabytes of memory
    # beyond what the child holds when it starts (a 10 000-row XLSX takes about 1.6 s).
    invitation_parse_cpu_seconds: float = 10.0
    invitation_parse_memory_mb: int = 256
    # -- company login domains (ID-14, seed 002 "admin@cégnév") --
    # A company's previous login domain stays its own this long, so nobody else takes it.
    login_domain_reserved_days: float = 90
    # Login-domain changes (attempts) a company may make per day.
    login_domain_changes_per_company_per_day: int = 5

    @property
    def activation_code_validity(self) -> timedelta:
        """ID-2: the configured validity of an activation code."""
        if self.activation_code_hours is not None:
            return timedelta(hours=self.activation_code_hours)
        return timedelta(days=self.activation_code_days)
