"""Settings shared by every environment. Everything that differs comes from the environment."""

import datetime as dt
import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", "dev-insecure-key-change-me")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "axes",
    "csp",
    "students",
    "casework",
    "accountability",
    "reporting",
    "bench",  # benchmarks: `manage.py bench` (no models); imports the apps, none imports it
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "students.middleware.ChineseFirstLocaleMiddleware",
    "students.middleware.RefuseNulCharacters",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "students.middleware.NoStoreForSignedInUsers",
    "students.middleware.DomainErrorPages",
    "simple_history.middleware.HistoryRequestMiddleware",
    # AxesMiddleware should be the last middleware in the list.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "django.template.context_processors.i18n",
                "students.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,  # a connection broken by a database restart is replaced, not reused
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "students.User"
AUTHENTICATION_BACKENDS = [
    # AxesStandaloneBackend should be the first backend in the list.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# django-axes: lock an account+address pair after repeated failures.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.5"))  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Uploads: the roster import accepts files up to 5 MB; keep Django's own limits above that.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
ROSTER_IMPORT_MAX_BYTES = 5 * 1024 * 1024
SCREENING_IMPORT_MAX_BYTES = 30 * 1024 * 1024  # a household register of 200,000 people
# Content-Security-Policy (django-csp): everything from this site, nothing inline without the
# request's nonce (templates: nonce="{{ request.csp_nonce }}"), no plugins, no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        # Style attributes only (not <style> elements): ECharts writes its tooltips with them.
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],  # Bootstrap draws some icons as data: SVG
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# API tokens (students/tokens.py): valid this long from when they were issued.
API_TOKEN_LIFETIME = dt.timedelta(days=int(os.environ.get("API_TOKEN_LIFETIME_DAYS", "30")))

REST_FRAMEWORK = {
    # Token first: a request without valid credentials is answered 401 with WWW-Authenticate: Token.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "students.tokens.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "students.api_common.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "students.api_common.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "控辍保学 API",
    "DESCRIPTION": "County dropout-control casework system (控辍保学). All endpoints are scoped to the caller.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "StudentStatusEnum": "students.models.Student.Status",
        "RiskFlagStatusEnum": "students.models.RiskFlag.Status",
        "RiskLevelEnum": "students.models.RiskLevel",
        "AbsenceKindEnum": "students.models.AbsenceKind",
        "CaseStatusEnum": "casework.models.DropoutCase.Status",
        "CaseReasonEnum": "casework.models.DropoutCase.Reason",
        "DismissReasonEnum": "casework.models.DropoutCase.DismissReason",
        "WhereaboutsEnum": "casework.models.DropoutCase.Whereabouts",
        "PlacementEnum": "casework.models.DropoutCase.Placement",
        "ActivityKindEnum": "casework.models.CaseActivity.Kind",
        "ActivityOutcomeEnum": "casework.models.CaseActivity.Outcome",
        "FollowUpKindEnum": "casework.models.FollowUp.Kind",
        "ReportKindEnum": "reporting.models.ReportRun.Kind",
        "ReportStatusEnum": "reporting.models.ReportRun.Status",
        "ReportScopeTypeEnum": "reporting.models.ReportRun.ScopeType",
    },
}

REDIS_URL = os.environ.get("REDIS_URL", "")
# Dashboard figures are cached for a minute and dropped when the data behind them changes; with
# Redis every process sees the same cache, without it each process keeps its own.


def cache_settings(redis_url: str) -> dict:
    """The cache: Redis when ``REDIS_URL`` is set, else this process's memory.

    A cache is an optimisation: when Redis is down or slow, every cache call logs the error and
    answers as a miss (django-redis ``IGNORE_EXCEPTIONS``), so a page is slower and a submit still
    succeeds. Short socket timeouts keep a dead Redis from holding a request.
    """
    if not redis_url:
        return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis_url,
            "TIMEOUT": 300,
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }


DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True  # logged on the "django_redis.cache" logger
CACHES = cache_settings(REDIS_URL)
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict = {
    "beat-heartbeat": {  # /healthz reports beat as stale when this stops arriving
        "task": "students.tasks.beat_heartbeat",
        "schedule": 60.0,
    },
    "evaluate-pending-classrooms": {  # a backstop: each submit schedules its own drain
        "task": "students.tasks.evaluate_pending_classrooms",
        "schedule": 300.0,
    },
    "nightly-risk-evaluation": {
        "task": "students.tasks.nightly_risk_evaluation",
        "schedule": crontab(hour=21, minute=0),
    },
    "weekly-reports": {
        "task": "reporting.tasks.weekly_reports",
        "schedule": crontab(hour=6, minute=0, day_of_week="mon"),
    },
    "daily-case-deadlines": {
        "task": "casework.tasks.daily_case_deadlines",
        "schedule": crontab(hour=7, minute=0),
    },
    "daily-finding-reminders": {  # 通报整改 past their deadline: remind the principals and the issuer
        "task": "accountability.findings.tasks.remind_overdue_findings",
        "schedule": crontab(hour=7, minute=10),
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# A broker outage must not hold a web request: fail fast, the nightly run catches up.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "max_retries": 1,
    # A task of a worker that died (SIGKILL, power loss) is unacknowledged (acks_late): Redis hands
    # it to another worker after this many seconds. Longer than the longest task (a county-wide
    # ledger takes about a minute), shorter than Redis' default hour.
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "900")),
}
