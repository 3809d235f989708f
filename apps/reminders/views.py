from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.core.errors import NotVisible

from . import services


@login_required
@require_POST
def mark_read(request, reminder_id: int):
    try:
        services.reminder_mark_read(user=request.user, reminder_id=reminder_id)
    except NotVisible:
        raise Http404 from None
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = "/"
    return redirect(target)
