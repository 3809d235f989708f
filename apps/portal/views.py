import sys

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _

from apps.core.unavailable import database_unavailable, is_database_unavailable, standalone_page
from apps.reminders.selectors import notices_for

from . import selectors
from .forms import LoginForm


class LoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Read per request, not at import, so the note follows the running settings.
        context["show_demo_note"] = settings.DEBUG
        if settings.DEBUG:
            context["demo_accounts"] = selectors.demo_accounts()
        return context


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change one's own password; the rules (settings.AUTH_PASSWORD_VALIDATORS) are listed under the field and
    named in each error. The session stays logged in (Django rotates its hash)."""

    template_name = "portal/password_change.html"
    success_url = reverse_lazy("portal:home")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("密码已修改。"))
        return response


@login_required
def home(request):
    page = selectors.home_for(request.user)
    return render(request, page.template, {**page.context(), "notices": notices_for(request.user)})


def error_403(request, exception=None):
    return render(request, "errors/403.html", status=403)


def error_404(request, exception=None):
    # An API client gets JSON like every other API error (apps.core.api.exception_handler), not an HTML page.
    if request.path.startswith("/api/v1/"):
        return JsonResponse({"detail": _("未找到。"), "code": "not_found"}, status=404)
    return render(request, "errors/404.html", status=404)


def error_500(request):
    """Rendered without a request context: the error may come from the database, the session or a context
    processor, and this page must not fail the same way. The template is self-contained (inline CSS, no
    `{% static %}`, which can itself raise when the manifest is stale). The database being unreachable is not our
    bug but a passing outage: a 503 that says to try again shortly (apps.core.unavailable)."""
    if is_database_unavailable(sys.exc_info()[1]):  # Django calls this inside its `except` for the exception
        return database_unavailable(request)
    return standalone_page("errors/500.html", status=500, heading="服务器内部错误",
                           english="Internal server error. Please try again later.")
