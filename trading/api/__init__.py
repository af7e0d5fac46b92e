"""The REST API at /api/v1/: reads from the database, writes only to the command table (and config).

Every route needs `Authorization: Bearer <token>` except `GET health`; a signed-in console session may
also read (the console's chart island). A read-only token gets 403 on any POST/PUT/DELETE. Writes
answer 202 with a command id; poll `GET commands/{id}` for the effect.
"""

from __future__ import annotations

from ninja import NinjaAPI

from trading import unavailable

from . import (
    routes_analytics,
    routes_commands,
    routes_groups,
    routes_paper,
    routes_queue,
    routes_signals,
    routes_system,
)
from .auth import ConsoleSession, TokenAuth

api = NinjaAPI(
    title="TV Engine API",
    version="1",
    urls_namespace="api-v1",
    auth=[TokenAuth(), ConsoleSession()],  # a token, or (reads only) the console's session
    description=__doc__ or "",
)
# Database out of reach (even for the token check): 503 JSON with Retry-After, not a 500 page.
for _error in unavailable.DATABASE_UNAVAILABLE:
    api.add_exception_handler(_error, unavailable.api_response)

for module in (
    routes_system,
    routes_groups,
    routes_queue,
    routes_signals,
    routes_paper,
    routes_commands,
    routes_analytics,
):
    api.add_router("", module.router)

from exchanges.api import router as exchanges_router  # noqa: E402 - other apps plug their routes in here
from risk.api import router as risk_router  # noqa: E402

api.add_router("", risk_router)
api.add_router("", exchanges_router)
