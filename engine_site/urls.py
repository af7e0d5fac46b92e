from django.contrib import admin
from django.urls import path

from trading import webhooks

urlpatterns = [
    path("admin/", admin.site.urls),
    # Both spellings answer directly: a redirect would lose TradingView's POST body.
    path("webhooks/tradingview", webhooks.tradingview, name="webhook-tradingview"),
    path("webhooks/tradingview/", webhooks.tradingview),
]
