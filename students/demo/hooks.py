"""Apps to the right of students (casework, reporting) add to the demo county through hooks.

students must not import them (dependencies point one way), so they register here from their
AppConfig.ready(); seed_demo calls every hook after the county, students and attendance exist.
A hook is ``hook(*, county, as_of, rng, write) -> dict[str, int]`` (counts to print).
"""

HOOKS: list = []


def register(hook):
    if hook not in HOOKS:
        HOOKS.append(hook)
    return hook
