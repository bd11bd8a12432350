"""Sections that apps to the right of students add to the home page ("my tasks").

students must not import casework or reporting; they register a provider here from their
AppConfig.ready(). A provider is ``provider(user) -> dict | None``: a template name and its
context under the keys ``template`` and ``context``, or None when it has nothing to show.
"""

PROVIDERS: list = []


def register(provider):
    if provider not in PROVIDERS:
        PROVIDERS.append(provider)
    return provider


def sections_for(user) -> list[dict]:
    return [section for provider in PROVIDERS if (section := provider(user))]
