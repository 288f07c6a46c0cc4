"""Message handlers, tried in this order: help, platform events (a recalled report), status
keywords, queries, intake (reports last, so a keyword is never mistaken for a report)."""

from pingan.handlers.router import Router


def build_router() -> Router:
    from pingan.handlers import help, intake, queries, recall, reports, status

    root = Router("root")
    root.include(help.router, recall.router, status.router, queries.router, reports.router, intake.router)
    return root
