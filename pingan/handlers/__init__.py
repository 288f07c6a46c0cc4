"""Message handlers, tried in this order: help, status keywords, queries, the workbench link,
intake (reports last, so a keyword is never mistaken for a report)."""

from pingan.handlers.router import Router


def build_router() -> Router:
    from pingan.handlers import help, intake, queries, reports, status, workbench

    root = Router("root")
    root.include(help.router, status.router, queries.router, reports.router, workbench.router, intake.router)
    return root
