"""Password authentication with the login lockout (accounts/lockout.py) in front of it.

Enforced here rather than in a form so every door that checks a password, the login page and the
admin's alike, goes through it. A locked-out pair is refused with `PermissionDenied`, which makes
`authenticate()` stop and answer None without consulting the password; the login forms then say why
(`accounts/forms.py`).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from governance.accounts import lockout
from governance.accounts.addresses import client_address


class LockoutModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if request is None or username is None or password is None:
            # Not a login over the network (a shell, a command): nobody to lock out.
            return super().authenticate(request, username, password, **kwargs)
        try:
            attempt = lockout.attempt_start(username=username, address=client_address(request))
        except lockout.LockedOut:
            raise PermissionDenied("Locked out.") from None
        user = super().authenticate(request, username, password, **kwargs)
        if user is None:
            named = get_user_model()._default_manager.filter(**{get_user_model().USERNAME_FIELD: username}).first()
            lockout.attempt_failed(attempt, user=named)
        else:
            lockout.attempt_succeeded(attempt)
        return user
