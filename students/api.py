"""API v1 for the org tree and people. Thin: parse, call a selector or service, serialize."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes, throttle_classes
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from students import selectors, tokens
from students.roster import services as roster

from .filters import ClassroomFilter, SchoolFilter, StudentFilter
from .models import Post
from .scoping import scope_for, students_visible_to
from .serializers import (
    ClassroomSerializer,
    PostSerializer,
    SchoolSerializer,
    StudentDetailSerializer,
    StudentSerializer,
)


class TokenRequest(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"})


@extend_schema(
    request=TokenRequest,
    responses={
        200: inline_serializer(
            "TokenResponse", {"token": serializers.CharField(), "expires_at": serializers.DateTimeField()}
        )
    },
)
@api_view(["POST"])
@permission_classes([AllowAny])
@throttle_classes([])
def obtain_token(request):
    data = TokenRequest(data=request.data)
    data.is_valid(raise_exception=True)
    user = authenticate(request=request, **data.validated_data)
    if user is None:
        return Response({"detail": "用户名或密码错误,或账号已被暂时锁定"}, status=status.HTTP_400_BAD_REQUEST)
    token = tokens.issue(user)
    return Response({"token": token.key, "expires_at": tokens.expires_at(token)})


@extend_schema(request=None, responses={200: inline_serializer("Revoked", {"revoked": serializers.IntegerField()})})
@api_view(["POST"])
def revoke_token(request):
    """Revoke the caller's API token (the app's "sign out"); the next request with it is answered 401."""
    return Response({"revoked": tokens.revoke(request.user)})


@extend_schema(responses=inline_serializer("Me", {"id": serializers.IntegerField()}))
@api_view(["GET"])
def me(request):
    user = request.user
    scope = scope_for(user)
    posts = (
        Post.objects.active().filter(user=user).select_related("county", "township", "village", "school", "classroom")
    )
    return Response(
        {
            "id": user.pk,
            "username": user.username,
            "display_name": user.display_name,
            "is_superuser": user.is_superuser,
            "roles": sorted(scope.roles),
            "posts": PostSerializer(posts, many=True).data,
            "scopes": scope.as_dict(),
            "sees_full_id_numbers": scope.sees_full_id_numbers,
        }
    )


class SchoolViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = SchoolSerializer
    filterset_class = SchoolFilter

    def get_queryset(self):
        return selectors.school_list(self.request.user)


class ClassroomViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ClassroomSerializer
    filterset_class = ClassroomFilter

    def get_queryset(self):
        return selectors.classroom_list(self.request.user)


class StudentViewSet(viewsets.ReadOnlyModelViewSet):
    filterset_class = StudentFilter

    def get_queryset(self):
        qs = students_visible_to(self.request.user).select_related("school", "classroom")
        if self.action == "retrieve":
            return qs.select_related("village", "village__township").prefetch_related("guardians")
        return qs.order_by("classroom__grade__level", "classroom__number", "name_pinyin", "id")

    def get_serializer_class(self):
        return StudentDetailSerializer if self.action == "retrieve" else StudentSerializer

    @extend_schema(
        request={
            "multipart/form-data": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
        },
        responses={
            200: inline_serializer(
                "ImportResult", {"created": serializers.IntegerField(), "updated": serializers.IntegerField()}
            ),
            400: OpenApiResponse(description="{detail, errors: [{row, field, message}]}: nothing was written"),
        },
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    def import_roster(self, request):
        result = roster.import_roster(
            user=request.user, upload=request.FILES.get("file"), school_id=request.data.get("school")
        )
        return Response({"created": result.created, "updated": result.updated})
