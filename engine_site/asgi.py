"""ASGI entry point: HTTP through Django, websockets through Channels (the console's live updates)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engine_site.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from dashboard.routing import websocket_urlpatterns  # noqa: E402
from engine_site.bodylimit import BodySizeLimit, guard_daphne  # noqa: E402
from trading.webhook_route import WebhookRoute  # noqa: E402

# Oversized bodies are refused before they are read: inside daphne while they arrive (it would
# otherwise buffer all of them before calling us), and again here for any other ASGI server.
guard_daphne(settings.REQUEST_BODY_MAX_BYTES)

application = ProtocolTypeRouter(
    {
        # The TradingView webhook skips Django's handler (its sync middleware cost ~4 ms a request).
        "http": BodySizeLimit(WebhookRoute(django_asgi_app), settings.REQUEST_BODY_MAX_BYTES),
        # Session login (the console's) for sockets; the Origin must be one of ALLOWED_HOSTS.
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
