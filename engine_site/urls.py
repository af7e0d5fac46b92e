from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from dashboard.views import auth as console_auth
from desktop import views as desktop_views
from trading import webhooks
from trading.api import api


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers: the web process answers (no database, no auth)."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("healthz", healthz),
    # Ahead of admin.site.urls: the admin's sign-in goes through the console's throttle.
    path("admin/login/", console_auth.admin_login),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    # Both spellings answer directly: a redirect would lose TradingView's POST body.
    path("webhooks/tradingview", webhooks.tradingview, name="webhook-tradingview"),
    path("webhooks/tradingview/", webhooks.tradingview),
]

# --- operator console (dashboard app): sign-in, then every page needs login ---------------------
urlpatterns += [
    path("accounts/login/", console_auth.login, name="login"),
    # The desktop app's one-time first-run page (desktop.first_run): needs the launcher's token.
    path("setup/", desktop_views.setup, name="desktop-setup"),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    path("", include("dashboard.urls")),
]
