"""The desktop app: `tv-engine` starts `manage.py run` on this computer, opens the console in the
browser and keeps its data in the platform's user data folder (docs/desktop.md)."""
