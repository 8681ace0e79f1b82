"""The Functions app's services: one provider that every activity (blueprints/backup.py, blueprints/restore.py) and
the API app (blueprints/api.py, and the local API server devenv/api_server.py, which runs these same activities)
ask. Built from the app settings on first use, never at import time, so indexing needs no setting. Tests serve
their own with `with provider.override(services): ...`."""

from core.bootstrap import ServiceProvider

provider = ServiceProvider()
