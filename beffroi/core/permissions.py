from functools import wraps

from django.shortcuts import render


def requires(permission: str):
    """Back-office views: the membership set by StaffAccessMiddleware must allow this."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            membership = getattr(request, "membership", None)
            if membership is None or not membership.can(permission):
                return render(request, "core/forbidden.html", status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
