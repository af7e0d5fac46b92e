"""Console routes (included at the site root by `engine_site.urls`)."""

from django.urls import path

from .views import favicon, logs, overview, positions, prefs, queue, risk, status

urlpatterns = [
    path("", overview.dashboard, name="console-dashboard"),
    path("engine/pause/", overview.pause, name="console-pause"),
    path("engine/resume/", overview.resume, name="console-resume"),
    path("positions/", positions.positions, name="console-positions"),
    path("positions/<int:group_id>/", positions.group_page, name="console-group"),
    path("positions/<int:group_id>/legs/", positions.legs, name="console-legs"),
    path("positions/<int:group_id>/close/", positions.close, name="console-close"),
    path("risk/", risk.risk, name="console-risk"),
    path("risk/run/", risk.run_now, name="console-risk-run"),
    path("risk/<int:group_id>/<slug:action>/", risk.group_command, name="console-risk-group"),
    path("queue/", queue.queue, name="console-queue"),
    path("queue/<int:entry_id>/<slug:action>/", queue.entry_command, name="console-queue-entry"),
    path("logs/", logs.logs, name="console-logs"),
    path("logs/export.<slug:kind>", logs.export, name="console-logs-export"),
    path("logs/replay/<int:signal_id>/", logs.replay, name="console-replay"),
    path("alerts/<int:event_id>/ack/", logs.acknowledge, name="console-ack"),
    path("alerts/ack-all/", logs.acknowledge_all, name="console-ack-all"),
    path("status/", status.status, name="console-status"),
    path("status/refresh-markets/", status.refresh_markets, name="console-refresh-markets"),
    path("status/accounts/<slug:label>/clear-block/", status.clear_block, name="console-clear-block"),
    path("preferences/theme/", prefs.theme, name="console-theme"),
    path("favicon.ico", favicon.favicon, name="console-favicon"),
]
