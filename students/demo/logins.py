"""The demo accounts of DESIGN.md §8 as a table (``manage.py demo_logins``, seed_demo, bench)."""

import os
import unicodedata

from django.db import DatabaseError
from django.utils import translation

from students.models import Post, User

URL = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"  # make run PORT=…
DEFAULT_PASSWORD = "demo12345"

# username, what the account is for (zh / en)
FIXED_ACCOUNTS = (
    ("bureau", "县教育局", "county bureau staff"),
    ("principal", "校长", "principal of the first school"),
    ("teacher", "班主任", "class teacher, first school"),
    ("teacher2", "班主任", "class teacher, first school (another class)"),
    ("principal2", "校长", "principal of another school"),
    ("cadre", "乡镇干部", "township cadre"),
    ("admin", "系统管理员", "superuser (Django admin /admin/)"),
)


def role_label(role: str) -> str:
    """A post's role in Chinese and English, from the one set of labels (Post.Role and its catalogue)."""
    label = Post.Role(role).label
    with translation.override(None):
        chinese = str(label)
    with translation.override("en"):
        english = str(label)
    return chinese if english == chinese else f"{chinese} {english}"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - _width(text), 0)


def table(header: list[str], rows: list[list[str]]) -> str:
    """A plain-text table that stays aligned with Chinese (double-width) characters."""
    widths = [max(_width(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(_pad(str(cell), w) for cell, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(_pad(str(cell), w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)


def account_rows() -> list[list[str]]:
    """One row per fixed account, read from the database (missing accounts say so)."""
    try:
        users = {u.username: u for u in User.objects.filter(username__in=[a[0] for a in FIXED_ACCOUNTS])}
        posts: dict[int, list[Post]] = {}
        for post in (
            Post.objects.active()
            .filter(user__in=users.values())
            .select_related("county", "township", "village", "school", "classroom")
        ):
            posts.setdefault(post.user_id, []).append(post)
    except DatabaseError:
        users, posts = {}, {}
    rows = []
    for username, zh, en in FIXED_ACCOUNTS:
        user = users.get(username)
        if user is None:
            rows.append([username, f"{zh} {en}", "(未创建 not seeded)", ""])
            continue
        user_posts = posts.get(user.pk, [])
        if user.is_superuser and not user_posts:
            role, scope = "系统管理员 superuser", "全部 everything"
        elif user_posts:
            role = "; ".join(role_label(p.role) for p in user_posts)
            scope = "; ".join(_scope_name(p) for p in user_posts)
        else:
            role, scope = f"{zh} {en}", "(无岗位 no post)"
        rows.append([username, role, scope, user.display_name])
    return rows


def _scope_name(post: Post) -> str:
    if post.classroom_id:
        return f"{post.school.name} {post.classroom.name}"
    return post.scope_label


def render_logins(password: str | None = None) -> str:
    if password is None:
        note = (
            f"默认密码 {DEFAULT_PASSWORD}(若用 seed_demo --password 指定过则为指定的密码)。"
            f" Default password: {DEFAULT_PASSWORD} unless seeded with --password."
        )
    else:
        note = f"密码 password: {password}"
    header = ["用户名 username", "角色 role", "范围 scope", "姓名 name"]
    return "\n".join(
        [
            f"演示账号 Demo accounts — 打开 open {URL}",
            note,
            "",
            table(header, account_rows()),
            "",
            "另有每个班的班主任 t<学校序号><年级><班号>(如 t001801)、每校校长 p<学校序号>、"
            "每个乡镇干部 c<序号>,密码相同。"
            " Every other class teacher (t…), principal (p…) and township cadre (c…) has the same password.",
        ]
    )
