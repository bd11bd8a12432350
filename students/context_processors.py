from .scoping import scope_for


def navigation(request):
    """What the navigation bar needs: the user's roles (one cached query per request)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    scope = scope_for(user)
    return {"nav_roles": scope.roles, "nav_scope": scope}
