"""Tables and data access. Importing this module registers every table on SQLModel.metadata."""

from pingan.models.delivery import InboxMessage, OutboxMessage, ReplyUrl
from pingan.models.org import (
    LADDER, LEVEL_NAMES, ROLE_NAMES, STAFF_ROLES, Channel, ChatGroup, Identity, Level, OrgRevision, Person, Place,
    Role, Unit,
)
from pingan.models.ticket import STATUS_NAMES, Source, Status, Ticket, TicketEvent
from pingan.models.web import WebKey, WebLinkUse, WebPhoto, WebSession

__all__ = [
    "LADDER", "LEVEL_NAMES", "ROLE_NAMES", "STAFF_ROLES", "STATUS_NAMES",
    "Channel", "ChatGroup", "Identity", "InboxMessage", "Level", "OrgRevision", "OutboxMessage", "Person", "Place",
    "ReplyUrl", "Role", "Source", "Status", "Ticket", "TicketEvent", "Unit",
    "WebKey", "WebLinkUse", "WebPhoto", "WebSession",
]
