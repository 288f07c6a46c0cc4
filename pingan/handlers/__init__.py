"""Message handlers, tried in this order: help, the answer to a numbered question, status keywords,
corrections, queries, officials' reports, a resident's message about their own tickets, intake (reports last,
so a keyword or an urge is never mistaken for a report)."""

from pingan.handlers.router import Router


def build_router() -> Router:
    from pingan.handlers import converse, corrections, help, intake, queries, reports, status

    root = Router("root")
    root.include(help.router, converse.pending, status.router, corrections.router, queries.router, reports.router, converse.router,
                 intake.router)
    return root
