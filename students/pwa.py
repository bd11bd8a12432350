"""The installable, offline-first attendance app (PWA): manifest, service worker, offline page.

- ``/manifest.webmanifest``: name, icons, theme colour; the home-screen icon opens the teacher's
  attendance (``/attendance/``).
- ``/sw.js`` (templates/pwa/sw.js), served from the site root so its scope is the whole site. It keeps
  the attendance pages' static files, and a copy of each page the server marks with the
  ``X-Offline-User`` header (:func:`offline_capable`: the attendance pages, for the signed-in user)
  in a cache of that user alone; every other page and every API call goes to the network untouched.
- The reports a teacher takes offline wait in IndexedDB (static/js/outbox.js, shared by the page
  and the service worker) and are sent once the connection returns; static/js/outbox.js also clears
  the caches and the sent reports at logout and on the login page.
"""

import functools
import hashlib
import json

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET

THEME_COLOR = "#0d6efd"
OFFLINE_USER_HEADER = "X-Offline-User"

# What the attendance pages load: kept by the service worker at install, so a page opened offline
# has its styles and scripts. The offline copies of the pages themselves are kept as they are visited.
PRECACHED_STATIC = [
    "vendor/bootstrap/css/bootstrap.min.css",
    "vendor/bootstrap-icons/subset/bootstrap-icons.css",
    "vendor/bootstrap-icons/subset/bootstrap-icons.woff2",
    "vendor/bootstrap/js/bootstrap.bundle.min.js",
    "css/app.css",
    "js/outbox.js",
    "js/attendance.js",
    "favicon.svg",
    "icons/icon-192.png",
]


def offline_capable(response: HttpResponse, request) -> HttpResponse:
    """Mark a page the service worker may keep for offline use, in the cache of this user only.

    Only a successful GET of a signed-in user's page is marked; the service worker keeps nothing
    the server did not mark (and serves nothing from a copy of another user)."""
    if request.method == "GET" and response.status_code == 200 and request.user.is_authenticated:
        response[OFFLINE_USER_HEADER] = str(request.user.pk)
    return response


def offline_texts() -> dict[str, str]:
    """The attendance page script's words (its placeholders in braces), translated here with the rest."""
    return {
        "offline": _(
            "离线或网络太慢:本页来自本机缓存,名单与校历更新于 {at}。考勤可照常填写,提交后先保存在本机,联网后自动发送。"
        ),
        "offline_ready": _("已可离线使用(名单更新于 {at})"),
        "queued": _("已保存在本机,等待联网后发送"),
        "waiting": _("等待发送"),
        "sent": _("已发送(第{version}版)"),
        "conflict": _("版本冲突:他人已更正,未覆盖"),
        "conflict_banner": _("这一天的考勤在您离线时已被他人更正:请在上方对照两个版本后选择,选择前不会发送。"),
        "failed": _("未能提交:{error}"),
        "auth": _("登录已失效,请重新登录后自动发送"),
        "reported": _("已上报(第{version}版):{by} 于 {at} 提交 · 应到 {enrolled} · 实到 {present}"),
        "pending": _("本机有尚未发送的考勤(基于{base}),联网后自动发送"),
        "base_none": _("首次上报"),
        "base_version": _("第{version}版"),
        "not_reported": _("尚未上报。默认全部出勤,只需点选缺勤的学生。"),
        "no_calendar": _("本机没有这一天的校历(离线副本过旧),请联网后刷新再填报"),
        "not_school_day": _("{day}:{why},无需填报考勤"),
        "outside_window": _("只能填报本周内已到的上学日"),
        "yours": _("您离线记录的版本"),
        "theirs": _("当前版本(第{version}版,{by} 于 {at})"),
        "keep_theirs": _("以当前版本为准,放弃我的"),
        "use_mine": _("用我的版本更正"),
        "drop_failed": _("知道了,删除这份"),
        "nobody_absent": _("全部出勤"),
        "present": _("出勤"),
        "summary": _("应到 {total} · 缺勤 {absent} · 实到 {present}"),
        "absent_count": _("缺勤 {n} 人"),
        "all_present_confirm": _("确认全部到齐并提交{day}的考勤?"),
        "unknown_student": _("学生{id}"),
    }


@require_GET
@cache_control(max_age=86400, public=True)
def manifest(request):
    """The web app manifest: Chinese name, icons, theme colour, start on the teacher's attendance."""
    icons = [
        {"src": static("icons/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
        {"src": static("icons/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
        {"src": static("icons/icon-maskable-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
    ]
    start = reverse("attendance-home")
    body = {
        "id": start,
        "name": "控辍保学 · 考勤日报",
        "short_name": "控辍保学",
        "description": "班主任每日考勤:离线也能填报,联网后自动发送。",
        "lang": "zh-CN",
        "dir": "ltr",
        "start_url": start,
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOR,
        "icons": icons,
    }
    response = JsonResponse(body, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json; charset=utf-8"
    return response


@functools.cache
def _static_version() -> str:
    """A digest of the precached files' contents: a new release gives a new service worker (and caches)."""
    digest = hashlib.sha256()
    for name in PRECACHED_STATIC:
        path = finders.find(name)
        digest.update(name.encode())
        if path:
            with open(path, "rb") as handle:
                digest.update(handle.read())
    return digest.hexdigest()[:16]


@require_GET
@never_cache
def service_worker(request):
    """The service worker, from the site root (its scope is where it is served from)."""
    response = render(
        request,
        "pwa/sw.js",
        {
            "settings": json.dumps(
                {
                    "version": _static_version(),
                    "precache": [static(name) for name in PRECACHED_STATIC] + [reverse("pwa-offline")],
                    "offlinePage": reverse("pwa-offline"),
                    "outbox": static("js/outbox.js"),
                    "header": OFFLINE_USER_HEADER,
                    "home": reverse("attendance-home"),
                    "staticPrefix": settings.STATIC_URL,
                },
            ),
        },
        content_type="text/javascript; charset=utf-8",
    )
    return response


@require_GET
@cache_control(max_age=3600, public=True)
def offline_page(request):
    """What the service worker shows for a page it has no copy of when the network is down.
    The same for everyone: no user's data, so it can be kept at install."""
    return render(request, "pwa/offline.html", {"home": reverse("attendance-home")})
