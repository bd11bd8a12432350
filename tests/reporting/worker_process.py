"""A real Celery worker in its own process, for tests that kill it (``python -m tests.reporting.worker_process``).

It reads the test database and Redis from the environment the test passes (DATABASE_URL with the
test database's name, REDIS_URL, MEDIA_ROOT). ``--slow-builds`` makes every report build sleep
after its first progress step, so that the test can kill the worker while a run is half-way.
``--visibility-timeout`` shortens how long Redis keeps an unacknowledged message of a dead worker
before another worker takes it (production keeps settings.CELERY_BROKER_TRANSPORT_OPTIONS).
"""

import argparse
import os
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slow-builds", action="store_true")
    parser.add_argument("--visibility-timeout", type=int, default=None)
    args = parser.parse_args()
    django.setup()

    from config.celery import app
    from reporting import services

    if args.slow_builds:
        for kind, build in list(services.BUILDERS.items()):

            def slow(run, progress, build=build):
                progress(10)
                time.sleep(120)  # the test kills this process long before
                return build(run, progress)

            services.BUILDERS[kind] = slow
    if args.visibility_timeout is not None:
        app.conf.broker_transport_options = {
            **app.conf.broker_transport_options,
            "visibility_timeout": args.visibility_timeout,
            "unacked_restore_interval": 1,
            "unacked_restore_throttle": 1,
        }
    app.conf.task_always_eager = False
    app.worker_main(["worker", "--pool", "solo", "--loglevel", "WARNING", "--without-mingle", "--without-gossip"])


if __name__ == "__main__":
    main()
