"""gunicorn settings for every way the web process is run (make serve, make load, deploy/, the
Dockerfile): ``gunicorn -c config/gunicorn.py config.wsgi:application``; flags on the command line
still override what is here.

The garbage collector: a worker holds about 300,000 long-lived objects once Django, the apps,
DRF, Celery and the pinyin dictionaries are loaded, and every full collection walks them all
(measured 50–90 ms on a 2-core machine), stalling the request it falls in and those queued behind
it. Each worker therefore loads what its first request would (the URLconf and so every view),
collects once, and freezes what is left out of later collections (``gc.freeze``, the approach
Instagram described for forked Python web servers). On ``make load`` this did not move the submit's
p99 measurably (one run: 422 ms against 310–429 ms before): full collections are rare there.
"""

import gc


def post_worker_init(worker) -> None:
    from django.urls import get_resolver

    resolver = get_resolver()
    resolver.url_patterns  # noqa: B018 - imports every URLconf and view module
    resolver.reverse_dict  # noqa: B018 - builds the reverse lookup tables once
    gc.collect()
    gc.freeze()
