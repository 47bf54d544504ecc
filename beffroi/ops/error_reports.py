"""What an error report (Django's e-mail to ADMINS) may show of a request.

Kept apart from ``logs.py``, which must import nothing from Django.
"""

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

HIDDEN = "********************"
# What the request's environment tells of the visitor or of a capability link.
_PRIVATE_META = ("PATH_INFO", "QUERY_STRING", "REQUEST_URI", "RAW_URI", "REMOTE_ADDR", "REMOTE_HOST",
                 "HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_REFERER", "HTTP_USER_AGENT", "HTTP_ORIGIN")


class PrivateExceptionReporterFilter(SafeExceptionReporterFilter):
    """An error report (the operators' e-mail) shows no form value (passwords,
    codes, texts of inhabitants), no path nor query (capability links), no
    address nor user agent. The traceback and the settings stay, cleansed as
    Django does."""

    cleansed_substitute = HIDDEN

    def get_post_parameters(self, request):
        if request is None:
            return {}
        return {name: HIDDEN for name in request.POST}

    def get_safe_request_meta(self, request):
        meta = super().get_safe_request_meta(request)
        return {name: HIDDEN if name in _PRIVATE_META else value for name, value in meta.items()}


class PrivateExceptionReporter(ExceptionReporter):
    """The report's own lines about the request: its route instead of its URL, no query values."""

    def get_traceback_data(self):
        data = super().get_traceback_data()
        if self.request is not None:
            from beffroi.ops.routes import route_of

            data["request_insecure_uri"] = route_of(self.request)[1]
            data["request_GET_items"] = [(name, HIDDEN) for name in self.request.GET]
        return data

    def get_traceback_text(self):
        # Django's template also writes request.path_info in its title lines.
        text = super().get_traceback_text()
        if self.request is not None:
            from beffroi.ops.routes import route_of

            route = route_of(self.request)[1]
            for shown in sorted({self.request.get_full_path(), self.request.path, self.request.path_info}, key=len,
                                reverse=True):
                if len(shown) > 1:
                    text = text.replace(shown, route)
        return text
