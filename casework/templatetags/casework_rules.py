"""Template questions that casework's services answer, for templates of apps to its left.

students' pages (a student's file, a red early warning) show casework's 报告疑似辍学 button;
students must not import casework, so its templates ask here instead of repeating the rule.
"""

from django import template

from casework import services

register = template.Library()


@register.simple_tag(takes_context=True)
def may_open_case(context, student, flag=None) -> bool:
    """``{% may_open_case student flag as allowed %}``: whether the user may report this student (from ``flag``)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return user is not None and services.can_open_case(user, student, flag or None)
