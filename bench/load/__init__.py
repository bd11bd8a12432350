"""``make load``: the attendance submit and the school dashboard under concurrent load (wrk + gunicorn).

See :mod:`bench.load.run` for what a run does and how to read its figures.
"""
