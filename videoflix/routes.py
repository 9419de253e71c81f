"""Every route of the API, one a line, grouped by resource. Paths are the existing frontend's."""


def includeme(config) -> None:
    # accounts
    config.add_route("accounts.register", "/api/register/")
    config.add_route("accounts.activate", "/api/activate/{uidb64}/{token}/")
    config.add_route("accounts.login", "/api/login/")
    config.add_route("accounts.logout", "/api/logout/")
    config.add_route("accounts.token_refresh", "/api/token/refresh/")
    config.add_route("accounts.password_reset", "/api/password_reset/")
    config.add_route("accounts.password_confirm", "/api/password_confirm/{uidb64}/{token}/")

    # catalog (GET) and upload (POST, operators)
    config.add_route("videos.list", "/api/video/")
    config.add_route("videos.status", r"/api/video/{id:\d+}/status/")
