"""Message handlers, tried in this order: help, platform events (a recalled report), status
keywords, queries, the workbench link, intake (reports last, so a keyword is never mistaken for a
report)."""

from pingan.handlers.router import Router


def build_router() -> Router:
    from pingan.handlers import help, intake, queries, recall, statistics, status, workbench

    root = Router("root")
    root.include(help.router, recall.router, status.router, queries.router, statistics.router, workbench.router,
                 intake.router)
    return root
