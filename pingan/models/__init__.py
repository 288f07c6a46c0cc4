"""Tables and data access. Importing this module registers every table on SQLModel.metadata."""

from pingan.models.delivery import InboxMessage, OutboxMessage, ReplyUrl
from pingan.models.org import (
    LADDER, LEVEL_NAMES, ROLE_NAMES, STAFF_ROLES, Channel, ChatGroup, Identity, Level, OrgRevision, Person, Place,
    Role, Unit,
)
from pingan.models.roster import DUTY_ROLES, Leave, Shift
from pingan.models import paging as _paging  # noqa: F401  (registers its index)
from pingan.models.ticket import STATUS_NAMES, Source, Status, Ticket, TicketEvent
from pingan.models.web import WebKey, WebLinkUse, WebPhoto, WebSession
from pingan.models import stage as _stage  # noqa: F401,E402  (registers the hot path's staging)

__all__ = [
    "LADDER", "LEVEL_NAMES", "ROLE_NAMES", "STAFF_ROLES", "STATUS_NAMES",
    "Channel", "ChatGroup", "Identity", "InboxMessage", "Level", "OrgRevision", "OutboxMessage", "Person", "Place",
    "ReplyUrl", "Role", "DUTY_ROLES", "Leave", "Shift", "Source", "Status", "Ticket", "TicketEvent", "Unit",
    "WebKey", "WebLinkUse", "WebPhoto", "WebSession",
]
