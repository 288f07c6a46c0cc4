"""The officials' workbench on the web (issue #18), served by `pingan serve` beside the platforms:
sign-in through the chat identity, the wall (挂图作战) with live updates, drill-down to units and
tickets, /metrics and Open311 GeoReport v2. It only reads the core's tables (and files reports
through the normal intake path); the core knows nothing of it."""

from __future__ import annotations

from aiohttp import web

WORKBENCH = web.AppKey("workbench", web.Application)  # the /web/ sub-application, on the server's app


def mount(app, bot, worker) -> None:
    """Add the workbench, /metrics and Open311 to the server's aiohttp app (`worker`: the outbox's)."""
    from pingan.web.metrics import add_metrics
    from pingan.web.open311 import open311
    from pingan.web.views import workbench

    if bot.settings.web.enabled:
        app[WORKBENCH] = workbench(bot, worker)
        app.add_subapp("/web/", app[WORKBENCH])
        app.add_subapp("/open311/v2/", open311(bot, worker))
    add_metrics(app, bot)
