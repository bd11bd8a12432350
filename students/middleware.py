from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import add_never_cache_headers, patch_vary_headers

from .errors import DomainError


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """Chinese unless the user chose otherwise with the language switcher (cookie).

    Django's LocaleMiddleware follows the browser's Accept-Language; a county office PC with an
    English browser would then open in English. Here the browser's preference is ignored.
    """

    def process_request(self, request):
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in dict(settings.LANGUAGES):
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class NoStoreForSignedInUsers:
    """Answers to a signed-in user hold personal data (names, numbers, absences): no browser or proxy
    may keep them (``Cache-Control: no-store``), unless the view set its own caching. Static files
    are answered by WhiteNoise before this runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        signed_in = bool(getattr(user, "is_authenticated", False)) or "HTTP_AUTHORIZATION" in request.META
        if signed_in and not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
            patch_vary_headers(response, ("Cookie", "Authorization"))
        return response


class RefuseNulCharacters:
    """A NUL character in the query string or in a form field is refused with 400 before any view
    runs (PostgreSQL cannot compare or store it, so a search for it would fail with 500). JSON
    bodies are checked by the API's input serializers and, before anything is saved, by
    :mod:`students.guards`."""

    MESSAGE = "请求中含有无效的控制字符(NUL),请删除后重试。"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._has_nul(request):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": self.MESSAGE}, status=400, json_dumps_params={"ensure_ascii": False})
            return HttpResponseBadRequest(self.MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    @classmethod
    def _has_nul(cls, request) -> bool:
        if cls._in(request.GET):
            return True
        forms = ("application/x-www-form-urlencoded", "multipart/form-data")
        return request.method == "POST" and request.content_type in forms and cls._in(request.POST)

    @staticmethod
    def _in(data) -> bool:
        return any("\x00" in key or any("\x00" in value for value in values) for key, values in data.lists())


class DomainErrorPages:
    """A domain error that a page's view did not turn into a message (for example an id in the query
    string that is not a number) answers with its own status and Chinese message, not with 500.
    The API maps the same errors in ``api_common.exception_handler``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DomainError) or request.path.startswith("/api/"):
            return None
        if exception.status_code == 404:
            return render(request, "404.html", status=404)
        return render(request, "400.html", {"message": exception.message}, status=exception.status_code)
