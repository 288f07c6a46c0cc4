"""Message handlers, tried in this order: help, platform events (a recalled report), status
keywords, queries, officials' statistics, duty (值班/请假/交班/接班), the workbench link, intake
(reports last, so a keyword is never mistaken for a report)."""

from pingan.handlers.router import Router


def build_router() -> Router:
    from pingan.handlers import duty, help, intake, queries, recall, statistics, status, workbench

    root = Router("root")
    root.include(help.router, recall.router, status.router, queries.router, statistics.router, duty.router,
                 workbench.router, intake.router)
    return root
