"""Message handlers, tried in this order: help, platform events (a recalled report), the answer to
a numbered question, status keywords, corrections, queries, officials' statistics, duty
(值班/请假/交班/接班), the workbench link, a resident's message about their own tickets, intake
(reports last, so a keyword or an urge is never mistaken for a report)."""

from pingan.handlers.router import Router


def build_router() -> Router:
    from pingan.handlers import (
        converse, corrections, duty, help, intake, queries, recall, statistics, status, workbench,
    )

    root = Router("root")
    root.include(help.router, recall.router, converse.pending, status.router, corrections.router, queries.router,
                 statistics.router, duty.router, workbench.router, converse.router, intake.router)
    return root
