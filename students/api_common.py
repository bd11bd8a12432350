"""Shared API plumbing: pagination and the one mapping from domain errors to HTTP."""

from rest_framework.exceptions import ParseError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError, ImportRejected, InvalidInput


class StandardPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        body = {"detail": exc.message}
        if isinstance(exc, ImportRejected):
            body["errors"] = exc.details or []
        elif exc.details is not None:
            body["current"] = exc.details
        return Response(body, status=exc.status_code)
    if isinstance(exc, ParseError):
        return Response({"detail": f"请求内容无法解析(须为 JSON 对象):{exc.detail}"}, status=400)
    return drf_exception_handler(exc, context)


def parse_input(serializer_class, data) -> dict:
    """Validate request data with an input serializer; problems become one Chinese 400 message."""
    parsed = serializer_class(data=data)
    if not parsed.is_valid():
        raise InvalidInput("请求格式错误:" + "; ".join(f"{k}: {v}" for k, v in parsed.errors.items()))
    return parsed.validated_data


class Router(DefaultRouter):
    """The API's router: object ids in URLs are numbers, so ``/dropout-cases/abc/verify/`` is a plain
    404 (no view runs with an id it cannot look up). A viewset may still set ``lookup_value_regex``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._default_value_pattern = "[0-9]+"
