"""``{% shown_number student.student_no %}``: an identifying number as the viewing user may see it."""

from django import template

from students.scoping import display_id_number

register = template.Library()


@register.simple_tag(takes_context=True)
def shown_number(context, value) -> str:
    """A 身份证号 or 学籍号 masked but for its last four characters unless the viewer's role sees full
    numbers. Without a known viewer (a template rendered without its request) it is masked."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    return display_id_number(user, value or "")
