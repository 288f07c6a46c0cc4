"""Paging (SMS/voice calls for urgent tickets nobody answered) keeps its state in ticket events
(`page`, `page_answered`) and its messages in the outbox; it adds only the index the paging sweep
reads urgent tickets by (pingan/rules/paging.py)."""

from sqlalchemy import Index

from pingan.models.ticket import Ticket

PAGING_INDEX = Index("ix_tickets_urgent_dispatched", Ticket.__table__.c.urgent, Ticket.__table__.c.dispatched_at)
