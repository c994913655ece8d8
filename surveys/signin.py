"""Sign-in protection: django-axes, for every sign-in that comes from a request.

Every sign-in form (the site's and the admin's) passes its request to `authenticate`, and
django-axes then refuses a locked-out account or address before any password is hashed. A
call without a request (a test client's `login`, a shell) has no address to count and nothing
to lock out, so it goes straight to the password check instead of failing.
"""

from axes.backends import AxesStandaloneBackend


class SignInBackend(AxesStandaloneBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
