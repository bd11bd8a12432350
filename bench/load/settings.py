"""Settings for ``make load`` only: production settings plus the bare yardstick endpoint.

Never used by a deployment: config.wsgi defaults to ``config.settings.prod`` and nothing but
``scripts/load.sh`` (through ``bench/load/run.py``) names this module. The bare endpoint is routed
only by :mod:`bench.load.urls`, so it cannot be reached under the production settings.
"""

from config.settings.prod import *  # noqa: F403

ROOT_URLCONF = "bench.load.urls"
ALLOWED_HOSTS = ["127.0.0.1"]
SECURE_SSL_REDIRECT = False  # plain HTTP on loopback; there is no TLS terminator in front
