"""Django signal receivers of the audit app: who with powers across teams logged in, and when.

Owners' logins are not recorded: they act on their own teams only, and their changes are audited by
the services that make them. No password, session key or request data goes into the event.
"""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from governance.audit.chain import record

LOGIN = "auth.login"


@receiver(user_logged_in, dispatch_uid="audit_login_of_privileged_roles")
def record_privileged_login(sender, request, user, **kwargs) -> None:
    if not getattr(user, "sees_every_team", False):
        return
    record(actor=user, action=LOGIN, obj=user, payload={"role": user.role, "superuser": user.is_superuser})
