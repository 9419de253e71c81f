"""Account endpoints: thin translations between the frontend's JSON and `AccountService`/`SessionService`.

Public endpoints (register, activate, login, password reset) opt out of CSRF: they act on no existing
login, and a stale auth cookie must never lock a user out of logging in again.
"""

from __future__ import annotations

import contextlib

from pyramid.csrf import new_csrf_token
from pyramid.security import forget, remember
from pyramid.view import view_config

from ..errors import AuthenticationFailed, InvalidInput, TooManyRequests
from ..schemas import validate
from ..schemas.accounts import (
    LoginSchema,
    PasswordConfirmSchema,
    PasswordResetSchema,
    RegisterSchema,
    require_strong,
)
from ..services.accounts import InvalidCredentials
from .errors import render


def user_json(user) -> dict:
    return {"id": user.id, "email": user.email}


#: what a registration answers, whether or not the address already has an account
REGISTERED = "Thank you! We have sent you an email: follow its link to activate your account."


@view_config(route_name="accounts.register", request_method="POST", renderer="json", require_csrf=False)
def register(request):
    """The same answer (status, body, timing) whether or not the address has an account: the mail tells its
    owner the rest (`AccountService.sign_up`). Rate limited per client address and per email, like reset."""
    data = validate(request, RegisterSchema())
    limits = request.registry["videoflix.settings"].rate_limits
    try:
        request.throttle.hit(f"register:ip:{client_key(request)}", limits["register_ip"])
        request.throttle.hit(f"register:account:{data['email']}", limits["register_account"])
        require_strong(data, "password")  # zxcvbn only for requests within the limits
    except (TooManyRequests, InvalidInput) as exc:
        return render(request, exc)  # returned, not raised: the counted attempt is committed
    mail = request.accounts.sign_up(data["email"], data["password"])
    if mail is not None:  # (None: an account operators deactivated; its answer is everyone's)
        request.account_mails.send(request.account_mails.sign_up(mail))
    request.response.status_code = 201
    return {"detail": REGISTERED, "user": {"email": data["email"]}}


@view_config(route_name="accounts.activate", request_method="GET", renderer="json")
def activate(request):
    request.accounts.activate(request.matchdict["uidb64"], request.matchdict["token"])
    return {"message": "Account successfully activated."}


def client_key(request) -> str:
    """The client's address (waitress puts the proxy's X-Forwarded-For there when it trusts the proxy)."""
    return request.client_addr or "unknown"


@view_config(route_name="accounts.login", request_method="POST", renderer="json", require_csrf=False)
def login(request):
    """Rate limited per client address (every attempt) and per account (failed attempts; a locked account
    answers 429 before its password is checked, whether or not it exists). Failures are returned, not
    raised, so the counted attempt is committed."""
    data = validate(request, LoginSchema())
    limits = request.registry["videoflix.settings"].rate_limits
    account = f"login:account:{data['email']}"  # the schema strips and lower-cases it
    try:
        request.throttle.hit(f"login:ip:{client_key(request)}", limits["login_ip"])
        request.throttle.check(account, limits["login_account"])
        user = request.accounts.authenticate(data["email"], data["password"])
    except InvalidCredentials as exc:
        with contextlib.suppress(TooManyRequests):  # this attempt is answered as what it is; the next one gets 429
            request.throttle.hit(account, limits["login_account"])
        return render(request, exc)
    except TooManyRequests as exc:
        return render(request, exc)
    session = request.auth_sessions.start(user, request.user_agent, client_key(request))
    request.response.headerlist.extend(remember(request, user.id, session=session))
    new_csrf_token(request)
    return {"detail": "Login successful.", "user": user_json(user)}


@view_config(route_name="accounts.logout", request_method="POST", renderer="json")
def logout(request):
    """Idempotent: the cookies are always cleared; the session behind them, if any, is revoked."""
    policy = request.registry["videoflix.security"]
    claims = policy.refresh_claims(request) or policy.access.claims_of_type(request, "access")
    if claims.get("sid"):
        request.auth_sessions.revoke(str(claims["sid"]))
    request.response.headerlist.extend(forget(request))
    return {"detail": "Logout successful. All tokens are deleted; the refresh token is no longer valid."}


@view_config(route_name="accounts.token_refresh", request_method="POST", renderer="json")
def token_refresh(request):
    """Rotate the refresh token and issue a new access token. Failures are returned, not raised, so that
    a replay's revocation of the session is committed."""
    claims = request.registry["videoflix.security"].refresh_claims(request)
    try:
        if not claims:
            raise AuthenticationFailed("Refresh token is missing, invalid or expired.")
        session = request.auth_sessions.rotate(str(claims["sid"]), str(claims["jti"]))
    except AuthenticationFailed as exc:
        response = render(request, exc)
        response.headerlist.extend(forget(request))
        return response
    request.response.headerlist.extend(remember(request, session.user_id, session=session))
    return {"detail": "Token refreshed."}


@view_config(route_name="accounts.password_reset", request_method="POST", renderer="json", require_csrf=False)
def password_reset(request):
    """The same answer whether or not the account exists (no account enumeration)."""
    data = validate(request, PasswordResetSchema())
    limits = request.registry["videoflix.settings"].rate_limits
    try:
        request.throttle.hit(f"reset:ip:{client_key(request)}", limits["reset_ip"])
        request.throttle.hit(f"reset:account:{data['email']}", limits["reset_account"])  # normalized by the schema
    except TooManyRequests as exc:
        return render(request, exc)
    mail = request.accounts.request_password_reset(data["email"])
    if mail is not None:
        request.account_mails.send(request.account_mails.password_reset(mail))
    return {"detail": "If an account with this email exists, we have sent an email to reset its password."}


@view_config(route_name="accounts.password_confirm", request_method="POST", renderer="json", require_csrf=False)
def password_confirm(request):
    data = validate(request, PasswordConfirmSchema())
    request.accounts.confirm_password_reset(
        request.matchdict["uidb64"], request.matchdict["token"], data["new_password"]
    )
    return {"detail": "Your password has been successfully reset."}
