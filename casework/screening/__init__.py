"""Screening (排查摸底): import a household register, compare it with enrolment and attendance, resolve.

- :mod:`.register` reads and checks the file (.xlsx, or .csv in UTF-8 or GBK), all rows or none;
- :mod:`.matching` compares the children with the county's students and their daily reports;
- :mod:`.services` the writes (import run, suggestions, resolutions, cases), :mod:`.selectors` the reads.
"""
