"""Console routes (included at the site root by `engine_site.urls`)."""

from django.urls import path

from .views import accounts as settings_accounts
from .views import analytics, favicon, logs, overview, positions, prefs, queue, risk, settings, status, trades
from .views import backups as settings_backup

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
    path("analytics/", analytics.analytics, name="console-analytics"),
    path("analytics/export/<slug:table>.csv", analytics.export_csv, name="console-analytics-export"),
    path("trades/", trades.trades, name="console-trades"),
    path("trades/export.csv", trades.export_csv, name="console-trades-export"),
    path("status/", status.status, name="console-status"),
    path("status/refresh-markets/", status.refresh_markets, name="console-refresh-markets"),
    path("status/accounts/<slug:label>/clear-block/", status.clear_block, name="console-clear-block"),
    path("preferences/theme/", prefs.theme, name="console-theme"),
    path("settings/", settings.settings_page, name="console-settings"),
    path("settings/review/", settings.review, name="console-settings-review"),
    path("settings/apply/", settings.apply, name="console-settings-apply"),
    path("settings/ladder/", settings.ladder, name="console-settings-ladder"),
    path("settings/preview/", settings.preview, name="console-settings-preview"),
    path("settings/ordered/", settings.ordered, name="console-settings-ordered"),
    path("settings/accounts/", settings_accounts.accounts, name="console-settings-accounts"),
    path("settings/accounts/add/", settings_accounts.add, name="console-settings-accounts-add"),
    path(
        "settings/accounts/<slug:label>/", settings_accounts.account, name="console-settings-accounts-detail"
    ),
    path(
        "settings/accounts/<slug:label>/edit/", settings_accounts.edit, name="console-settings-accounts-edit"
    ),
    path(
        "settings/accounts/<slug:label>/test/", settings_accounts.test, name="console-settings-accounts-test"
    ),
    path(
        "settings/accounts/<slug:label>/delete/",
        settings_accounts.delete,
        name="console-settings-accounts-delete",
    ),
    path(
        "settings/accounts/<slug:label>/<slug:action>/",
        settings_accounts.toggle,
        name="console-settings-accounts-toggle",
    ),
    path("settings/backup/", settings_backup.backup_page, name="console-settings-backup"),
    path("settings/backup/download/", settings_backup.download, name="console-settings-backup-download"),
    path("settings/backup/config.json", settings_backup.export_config, name="console-settings-backup-export"),
    path("settings/backup/import/", settings_backup.import_review, name="console-settings-backup-import"),
    path("settings/backup/import/apply/", settings_backup.import_apply, name="console-settings-backup-apply"),
    path(
        "settings/backup/import/cancel/", settings_backup.import_cancel, name="console-settings-backup-cancel"
    ),
    path("settings/backup/auto/", settings_backup.auto_settings, name="console-settings-backup-auto"),
    path("favicon.ico", favicon.favicon, name="console-favicon"),
]
