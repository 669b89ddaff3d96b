"""OpsX settings: one file, every value from the environment (django-environ).

With nothing set, the app runs on the embedded default: SQLite, Celery tasks eager
in-process, mail printed to the console. Production sets DATABASE_URL, REDIS_URL,
EMAIL_URL, SECRET_KEY, DEBUG=false and ALLOWED_HOSTS; see .env.example.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is read when present; real environment variables win over it.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

_DEV_SECRET = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET if DEBUG else "")
if not DEBUG and (len(SECRET_KEY) < 50 or SECRET_KEY == _DEV_SECRET or len(set(SECRET_KEY)) < 5):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 50 characters when DEBUG is false."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    "opsx.admin_apps.OpsxAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # allauth's templates load it: usersessions/usersession_list.html (the sessions page) and
    # mfa/webauthn/authenticator_list.html use naturaltime. Not unused: without it they 500.
    "django.contrib.humanize",
    # Its sitemap.xml templates, for /sitemap.xml (website.sitemaps).
    "django.contrib.sitemaps",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    # Headless mode for the mobile app only (its session token: X-Session-Token); the web
    # keeps allauth's own pages.
    "allauth.headless",
    # Its OpenAPI docs page and the Swagger UI files, served by us (whitenoise), not a CDN.
    "ninja",
    "opsx",
    "clients",
    "accounts",
    "prospects",
    "devices",
    "privacy",
    "website",
    # Only its tracking webhooks (bounces, complaints) and their basic-auth check: mail still
    # goes out through Django's SMTP backend and our outbox.
    "anymail",
]

MIDDLEWARE = [
    # First: its timing covers the whole chain (a client's requests and server time by area).
    "clients.middleware.UsageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "opsx.middleware.PrivateNoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    # After allauth's session tracking (which must see the staff member), before
    # ClientMiddleware (which reads request.user): a support view's guard (privacy/support.py).
    "privacy.support.SupportViewMiddleware",
    "clients.middleware.ClientMiddleware",
    "clients.middleware.AuditContextMiddleware",
    "devices.middleware.ApiMethodNotAllowedMiddleware",
]

ROOT_URLCONF = "opsx.urls"
WSGI_APPLICATION = "opsx.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "privacy.context_processors.notice_banners",  # the banners of current notices
            ],
        },
    },
    {
        # Plain-text emails (subjects and text bodies, ours and allauth's): HTML escaping would
        # turn "Evil & Co" into "Evil &amp; Co". opsx/mail.py and the allauth adapter render
        # .txt mail templates with this engine; pages and HTML mail keep the one above.
        "NAME": "text",
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "autoescape": False,
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = True  # a request's writes commit together or not at all
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, broker ---------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "opsx.cache.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Celery -----------------------------------------------------------------
# Without REDIS_URL (the embedded default) tasks run eagerly in-process.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a task whose worker dies is redelivered, not lost
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Bounded broker I/O: a publish runs in the on-commit hook of the request that queued mail, and
# without socket timeouts redis-py waits for ever on a Redis that accepts but does not answer
# (paused, swapping, a dead host behind a live proxy). The publish is not retried (opsx.mail);
# the periodic resend covers what it could not hand over. Above kombu's 1 s BRPOP timeout, so a
# worker's idle poll never trips it.
BROKER_SOCKET_TIMEOUT = env.float("BROKER_SOCKET_TIMEOUT", default=1.5)
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_SOCKET_TIMEOUT
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,  # > longest task
    "socket_timeout": BROKER_SOCKET_TIMEOUT,
    "socket_connect_timeout": BROKER_SOCKET_TIMEOUT,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
# Usage statistics (clients/usage.py): counted in Redis, added to the day's rows this often.
USAGE_REDIS_URL = env.str("USAGE_REDIS_URL", default=REDIS_URL)
USAGE_FLUSH_SECONDS = env.int("USAGE_FLUSH_SECONDS", default=300)

# Billing (clients/billing.py). HexCM's details print on every invoice: set them in production
# (the defaults are placeholders, the GSTIN only a well-formed example).
BILLING_SELLER = {
    "name": env.str("BILLING_SELLER_NAME", default="HexCM"),
    "address": env.str("BILLING_SELLER_ADDRESS", default="Bengaluru, Karnataka, India"),
    "state": env.str("BILLING_SELLER_STATE", default="29"),  # GST state code: Karnataka
    "gstin": env.str("BILLING_SELLER_GSTIN", default="29AAJCH1234K1ZF"),
    "email": env.str("BILLING_SELLER_EMAIL", default="team@thehexcm.com"),
}
BILLING_INVOICE_PREFIX = env.str("BILLING_INVOICE_PREFIX", default="OPX")
# The plan (its code) a new client starts on, with that plan's free trial.
BILLING_DEFAULT_PLAN = env.str("BILLING_DEFAULT_PLAN", default="team")
# The payment card (clients/payments.py), through Stripe's hosted page. Without a secret key
# no card is offered and invoices are paid by bank transfer. STRIPE_API_BASE points the client
# library at another server (the tests' local fake).
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")

CELERY_BEAT_SCHEDULE = {
    # The 1st of each month, 01:00 UTC (after the last day's usage figures at 00:15).
    "invoices-issue-month": {
        "task": "clients.tasks.invoices_issue_month",
        "schedule": crontab(day_of_month=1, hour=1, minute=0),
    },
    "usage-flush": {"task": "clients.tasks.usage_flush", "schedule": float(USAGE_FLUSH_SECONDS)},
    "usage-record-day": {
        "task": "clients.tasks.usage_record_day",
        "schedule": crontab(hour=0, minute=15),
    },
    "api-idempotency-expire": {
        "task": "devices.tasks.idempotency_expire",
        "schedule": crontab(hour=4, minute=30),
    },
    "mail-resend-pending": {"task": "opsx.tasks.mail_send_pending", "schedule": 60.0},
    "imports-resume-stale": {"task": "prospects.tasks.prospects_import_watchdog", "schedule": 60.0},
    "files-sweep-orphans": {"task": "prospects.tasks.prospects_files_sweep", "schedule": 3600.0},
    # Sync tombstones past PROSPECTS_TOMBSTONE_DAYS (and a day), at 04:15 UTC.
    "sync-tombstones-expire": {
        "task": "prospects.tasks.prospects_tombstones_expire",
        "schedule": crontab(hour=4, minute=15),
    },
    "policy-notices-pending": {
        "task": "privacy.tasks.privacy_policy_notify_pending",
        "schedule": 900.0,
    },
    # Access archives past PRIVACY_ARCHIVE_MAX_AGE_DAYS: their files deleted, at 04:00 UTC.
    "privacy-archives-expire": {
        "task": "privacy.tasks.privacy_archives_expire",
        "schedule": crontab(hour=4, minute=0),
    },
    # Client closures whose grace period is over start deleting; a deletion that died resumes.
    "privacy-closures-due": {
        "task": "privacy.tasks.privacy_closures_due",
        "schedule": crontab(hour=2, minute=0),
    },
    "privacy-deletions-due": {
        "task": "privacy.tasks.privacy_deletions_due",
        "schedule": crontab(hour=3, minute=0),
    },
    "privacy-retention": {
        "task": "privacy.tasks.privacy_retention",
        "schedule": crontab(hour=3, minute=30),
    },
    # Every morning: visitors' requests whose link expired unopened are closed; then each
    # member of staff is told what is overdue and due within 7 days.
    "privacy-requests-close-unconfirmed": {
        "task": "privacy.tasks.privacy_requests_close_unconfirmed",
        "schedule": crontab(hour=5, minute=50),
    },
    "privacy-requests-digest": {
        "task": "privacy.tasks.privacy_requests_digest",
        "schedule": crontab(hour=6, minute=0),
    },
    # Newsletter sign-ups never confirmed within NEWSLETTER_CONFIRM_DAYS are deleted; issues
    # whose every message has ended are marked sent.
    "newsletter-pending-expire": {
        "task": "privacy.tasks.newsletter_pending_expire",
        "schedule": crontab(hour=4, minute=45),
    },
    "newsletter-issues-finish": {
        "task": "privacy.tasks.newsletter_issues_finish",
        "schedule": 300.0,
    },
    # Referrals: the one reminder when due; referrals past REFERRAL_RETENTION_DAYS deleted.
    "referral-reminders": {"task": "accounts.tasks.referral_reminders_send", "schedule": 900.0},
    "referrals-expire": {
        "task": "accounts.tasks.referrals_expire",
        "schedule": crontab(hour=3, minute=45),
    },
}

# --- Mail -------------------------------------------------------------------
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="OpsX <no-reply@opsx.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where the public contact page (/contact/) and the terms tell visitors to write.
CONTACT_EMAIL = env.str("CONTACT_EMAIL", default="team@thehexcm.com")
MAIL_MAX_ATTEMPTS = env.int("MAIL_MAX_ATTEMPTS", default=8)
# `manage.py worker_health` fails when a due email has waited longer than this (beat resends
# every minute, so a healthy outbox never comes near it).
MAIL_MAX_OVERDUE_MINUTES = env.int("MAIL_MAX_OVERDUE_MINUTES", default=10)
# Unsubscribe links work this long (a newsletter read months later still unsubscribes).
MAIL_UNSUBSCRIBE_MAX_AGE_DAYS = env.int("MAIL_UNSUBSCRIBE_MAX_AGE_DAYS", default=365)
# Bulk mail (newsletter) pace: messages one task sends over one SMTP connection, and at most
# this many per second for the whole batch (0: no limit).
MAIL_BATCH_SIZE = env.int("MAIL_BATCH_SIZE", default=500)
MAIL_BULK_RATE_PER_SECOND = env.int("MAIL_BULK_RATE_PER_SECOND", default=0)
# How many chains of batch tasks send one batch side by side (one SMTP connection each).
MAIL_BATCH_PARALLEL = env.int("MAIL_BATCH_PARALLEL", default=2)
# The provider's delivery webhooks (/mail/events/<esp>/tracking/) ask for this user:password
# (HTTP basic auth, anymail's check); unset, they answer 404 and do nothing (anymail alone
# would accept unauthenticated calls with a warning). opsx.mail_webhooks reads it per request.
MAIL_WEBHOOK_SECRET = env.str("MAIL_WEBHOOK_SECRET", default="")
# Mailgun also signs its webhook posts with this key (its control panel: Webhooks, "HTTP
# webhook signing key"); unset, the Mailgun webhook answers 404.
MAILGUN_WEBHOOK_SIGNING_KEY = env.str("MAILGUN_WEBHOOK_SIGNING_KEY", default="")
ANYMAIL = {"WEBHOOK_SECRET": MAIL_WEBHOOK_SECRET} if MAIL_WEBHOOK_SECRET else {}

# --- Communications -----------------------------------------------------------
# Newsletter sign-ups not confirmed within this many days are deleted.
NEWSLETTER_CONFIRM_DAYS = env.int("NEWSLETTER_CONFIRM_DAYS", default=7)
# The public sign-up form: sign-ups accepted from one IP address per hour, and confirmation
# mails sent to one address per day (so the form cannot be used to flood a stranger's inbox);
# 0 turns a limit off.
NEWSLETTER_SIGNUPS_PER_IP_PER_HOUR = env.int("NEWSLETTER_SIGNUPS_PER_IP_PER_HOUR", default=5)
NEWSLETTER_CONFIRMATIONS_PER_ADDRESS_PER_DAY = env.int(
    "NEWSLETTER_CONFIRMATIONS_PER_ADDRESS_PER_DAY", default=3
)
# Referrals: the one reminder, days after the invitation; how long the friend's data is kept
# (then deleted); how many friends one user may refer per day.
REFERRAL_REMINDER_DAYS = env.int("REFERRAL_REMINDER_DAYS", default=7)
REFERRAL_RETENTION_DAYS = env.int("REFERRAL_RETENTION_DAYS", default=90)
REFERRALS_PER_USER_PER_DAY = env.int("REFERRALS_PER_USER_PER_DAY", default=10)
# Consent links in testimonial mails work this long.
TESTIMONIAL_LINK_MAX_AGE_DAYS = env.int("TESTIMONIAL_LINK_MAX_AGE_DAYS", default=30)

# --- Community: the forum and blog comments (website/community.py) ----------
# A "new" account (Discourse's first trust level) may start this many topics and post this
# many replies (forum replies and blog comments together) a day, with at most this many links
# and no image. It stays new until it has read COMMUNITY_TRUST_TOPICS_READ topics, posted
# COMMUNITY_TRUST_POSTS posts and is COMMUNITY_TRUST_DAYS days old; then the TRUSTED limits
# apply and links are free.
COMMUNITY_NEW_TOPICS_PER_DAY = env.int("COMMUNITY_NEW_TOPICS_PER_DAY", default=3)
COMMUNITY_NEW_REPLIES_PER_DAY = env.int("COMMUNITY_NEW_REPLIES_PER_DAY", default=10)
COMMUNITY_NEW_MAX_LINKS = env.int("COMMUNITY_NEW_MAX_LINKS", default=2)
COMMUNITY_TRUST_TOPICS_READ = env.int("COMMUNITY_TRUST_TOPICS_READ", default=5)
COMMUNITY_TRUST_POSTS = env.int("COMMUNITY_TRUST_POSTS", default=3)
COMMUNITY_TRUST_DAYS = env.int("COMMUNITY_TRUST_DAYS", default=1)
COMMUNITY_TRUSTED_TOPICS_PER_DAY = env.int("COMMUNITY_TRUSTED_TOPICS_PER_DAY", default=20)
COMMUNITY_TRUSTED_REPLIES_PER_DAY = env.int("COMMUNITY_TRUSTED_REPLIES_PER_DAY", default=100)
# Everybody: at most one post (topic, reply, comment) per this many seconds (0: no limit).
COMMUNITY_POST_INTERVAL_SECONDS = env.int("COMMUNITY_POST_INTERVAL_SECONDS", default=15)
# This many unreviewed flags from different people hide a post until staff look.
COMMUNITY_FLAGS_TO_HIDE = env.int("COMMUNITY_FLAGS_TO_HIDE", default=3)

# --- Auth -------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# allauth's backend is a ModelBackend that also reads an email given as "username" (Django
# admin's form): one backend, so a wrong password is hashed once, not twice.
AUTHENTICATION_BACKENDS = ["accounts.backends.AllauthBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"

ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.StartClientForm"
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CHANGE_EMAIL = True  # one address per user; a change is verified before it takes effect
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_NOTIFICATIONS = True  # tell the user when their password, email or 2FA changes
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[OpsX] "
# allauth's default limits (login failures, sign-ups, password resets, ...); False turns them off.
ACCOUNT_RATE_LIMITS = {} if env.bool("ACCOUNT_RATE_LIMITS_ENABLED", default=True) else False
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
# Failed passwords and TOTP codes are limited per (account, browser) for a browser the account
# signed in from before, so a stranger cannot lock the owner out (accounts/ratelimits.py).
MFA_FORMS = {"authenticate": "accounts.ratelimits.AuthenticateForm"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "OpsX"
USERSESSIONS_TRACK_ACTIVITY = False  # True would write on every request
# The mobile app signs in through allauth's headless API at /_allauth/app/v1/ and gets a
# session token: a server-side session, ended there (sign-out, password change, deactivation,
# device revocation), never a JWT that would outlive its revocation.
HEADLESS_CLIENTS = ("app",)
# The user is named by their public id in headless answers, never the row's counter.
HEADLESS_ADAPTER = "accounts.headless.HeadlessAdapter"
HEADLESS_ONLY = False
HEADLESS_SERVE_SPECIFICATION = False
# allauth's session tokens, refusing malformed ones before the session store sees them.
HEADLESS_TOKEN_STRATEGY = "devices.api.auth.SessionTokenStrategy"  # noqa: S105 (a class path)
INVITATION_MAX_AGE_DAYS = env.int("INVITATION_MAX_AGE_DAYS", default=7)
# How long a staff two-factor enrolment link (manage.py staff_enrolment_link, or mailed when
# staff without two-factor open /admin/) can be used; it works once.
STAFF_ENROLMENT_LINK_MAX_AGE_HOURS = env.int("STAFF_ENROLMENT_LINK_MAX_AGE_HOURS", default=24)

# --- Devices and the mobile API --------------------------------------------------
# Push notifications: "console" (logged, the default) or "fcm" (Firebase Cloud Messaging's
# HTTP v1 API with a service account's OAuth token; FCM_URL may point at a local server).
PUSH_BACKEND = env.str("PUSH_BACKEND", default="console")
FCM_PROJECT_ID = env.str("FCM_PROJECT_ID", default="")
FCM_CREDENTIALS_FILE = env.str("FCM_CREDENTIALS_FILE", default="")
FCM_URL = env.str("FCM_URL", default="https://fcm.googleapis.com").rstrip("/")
PUSH_MAX_RETRIES = env.int("PUSH_MAX_RETRIES", default=5)
# Messages a client's admins may send to their team's phones in an hour (0: no limit).
TEAM_MESSAGES_PER_CLIENT_PER_HOUR = env.int("TEAM_MESSAGES_PER_CLIENT_PER_HOUR", default=10)
# A device's last-seen time is written at most this often (not on every API call).
DEVICE_LAST_SEEN_EVERY_SECONDS = env.int("DEVICE_LAST_SEEN_EVERY_SECONDS", default=300)
# How long the answer to a write with an Idempotency-Key is kept for its retries.
API_IDEMPOTENCY_DAYS = env.int("API_IDEMPOTENCY_DAYS", default=7)
# Largest page of a list or a sync pull, and of an uploaded photo.
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=500)
API_MAX_UPLOAD_BYTES = env.int("API_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)

# --- Privacy ---------------------------------------------------------------
# Key of the keyed hashes (HMAC-SHA256) that stand in for an erased person's email address
# where a record must outlive them (the request as proof, a legal hold, the audit trail). A
# bare digest of an address can be reversed by hashing guesses; an HMAC without this key
# cannot. Never change it in production: old hashes would stop matching.
PRIVACY_HASH_KEY = env.str("PRIVACY_HASH_KEY", default="") or f"opsx-privacy-hash:{SECRET_KEY}"
# A privacy request is answered within this many days of its receipt; a report of a user
# under 16 (child data) within this many hours, before anything else.
PRIVACY_REQUEST_DUE_DAYS = env.int("PRIVACY_REQUEST_DUE_DAYS", default=30)
PRIVACY_CHILD_DATA_DUE_HOURS = env.int("PRIVACY_CHILD_DATA_DUE_HOURS", default=72)
# How long the link that confirms a visitor's address (and shows the request's status) works.
PRIVACY_LINK_MAX_AGE_DAYS = env.int("PRIVACY_LINK_MAX_AGE_DAYS", default=60)
# Requests the public form accepts from one IP address per hour (0 turns the limit off).
PRIVACY_REQUESTS_PER_IP_PER_HOUR = env.int("PRIVACY_REQUESTS_PER_IP_PER_HOUR", default=5)
# An approved account deletion runs by itself this many days after the request is verified,
# unless staff run it sooner or the user cancels it; 0: only when staff approve it.
PRIVACY_DELETION_WAIT_DAYS = env.int("PRIVACY_DELETION_WAIT_DAYS", default=14)
# A personal data archive (access request) can be downloaded for this many days.
PRIVACY_ARCHIVE_MAX_AGE_DAYS = env.int("PRIVACY_ARCHIVE_MAX_AGE_DAYS", default=7)
# A deactivated user's personal data is erased this many days after deactivation.
DEACTIVATED_USER_RETENTION_DAYS = env.int("DEACTIVATED_USER_RETENTION_DAYS", default=90)
# A closed client's data is deleted this many days after the admin closed the account.
CLIENT_CLOSURE_GRACE_DAYS = env.int("CLIENT_CLOSURE_GRACE_DAYS", default=30)
# The longest support access a user may grant, in days.
SUPPORT_GRANT_MAX_DAYS = env.int("SUPPORT_GRANT_MAX_DAYS", default=7)

# --- Invitation limits --------------------------------------------------------
# Invitation mails (sent or resent) so that nobody can use OpsX to mail strangers; counted in
# the cache (Redis in production, shared by every process). 0 turns a limit off.
INVITATIONS_PER_ADMIN_PER_HOUR = env.int("INVITATIONS_PER_ADMIN_PER_HOUR", default=20)
INVITATIONS_PER_CLIENT_PER_HOUR = env.int("INVITATIONS_PER_CLIENT_PER_HOUR", default=50)
INVITATION_MAILS_PER_ADDRESS_PER_DAY = env.int("INVITATION_MAILS_PER_ADDRESS_PER_DAY", default=3)

# --- Client Data ------------------------------------------------------------
DEFAULT_PHONE_REGION = env.str(
    "DEFAULT_PHONE_REGION", default="IN"
)  # numbers typed without a country code
MAX_UPLOAD_BYTES = env.int("MAX_UPLOAD_BYTES", default=25 * 1024 * 1024)
IMPORT_BATCH_SIZE = env.int("IMPORT_BATCH_SIZE", default=2000)
# The mobile app's sync hands out a tombstone for each prospect or visit that left a user's
# set. A phone whose last sync is older than this many days is told to pull everything again
# (410 resync); the tombstones are deleted a day later (the day covers a transaction that was
# running when that sync began: its tombstones carry its start time).
PROSPECTS_TOMBSTONE_DAYS = env.int("PROSPECTS_TOMBSTONE_DAYS", default=30)

# --- Security ---------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The client's address (rate limits, sessions list, audit: opsx.http.client_ip) is read from
# X-Forwarded-For only as far as our own proxies wrote it: the N-th entry from the right.
# Entries further left are whatever the client sent, so they never count.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1 if BEHIND_TLS_PROXY else 0)
# Or a header only our proxy sets (X-Real-IP, CF-Connecting-IP); it wins over X-Forwarded-For.
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = env.str("TRUSTED_CLIENT_IP_HEADER", default="") or None

# No CDN and no third-party script: everything comes from our own origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
    }
}

# --- Static files -----------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Client files in S3-compatible object storage instead of MEDIA_ROOT (pip install ".[s3]").
S3_BUCKET = env.str("S3_BUCKET", default="")
if S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("S3_REGION", default="") or None,
            "access_key": env.str("S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("S3_SECRET_ACCESS_KEY", default="") or None,
            "default_acl": "private",  # never public: views stream files after a tenant check
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
# Files are never served from MEDIA_URL: a view checks the tenant and sends them as attachments.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"message": {"format": "%(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
# The access log (opsx/access_log.py): one JSON line a request on standard output, or none.
ACCESS_LOG = env.str("ACCESS_LOG", default="stdout")
if ACCESS_LOG not in ("stdout", "off"):
    raise ImproperlyConfigured(f"ACCESS_LOG must be stdout or off, not {ACCESS_LOG!r}.")
if ACCESS_LOG == "stdout":
    # First: it times the whole stack, whitenoise's static files and HTTPS redirects included.
    MIDDLEWARE.insert(0, "opsx.access_log.AccessLogMiddleware")
    LOGGING["handlers"]["access_stdout"] = {
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stdout",
        "formatter": "message",
    }
    # Its own level, apart from LOG_LEVEL; not propagated, so never also on stderr.
    LOGGING["loggers"] = {
        "opsx.access": {"handlers": ["access_stdout"], "level": "INFO", "propagate": False}
    }
