"""Message handlers, tried in this order: help, status keywords, queries, officials' reports, duty,
intake (residents' reports last, so a keyword is never mistaken for a report)."""

from pingan.handlers.router import Router


def build_router() -> Router:
    from pingan.handlers import duty, help, intake, queries, reports, status

    root = Router("root")
    root.include(help.router, status.router, queries.router, reports.router, duty.router, intake.router)
    return root
