"""Every model, importable from one place (Alembic and create_all need them all loaded)."""
from .base import Base, TimestampMixin, to_utc_naive, utcnow
from .bulk import BulkJob, BulkStatus
from .channel import Channel, ChannelStatus
from .event import History, RawEvent, RawEventStatus
from .folder import Folder, FolderTotal, TicketCount
from .followup import (PENDING_SUGGESTION, ActionAttempt, ActionState, Followup, FollowupStatus, FollowupType,
                       OutboundAction, note_mentions)
from .mention import ticket_mentions
from .notification import Notification
from .rule import Rule, RuleRun, RuleRunStatus, RuleVersion
from .rule_list import InteractorList, KeywordList
from .search import ticket_search
from .saved_reply import SavedReply, saved_reply_channels
from .setting import Setting
from .team import Team, team_channels, team_members
from .taxonomy import Category, Tag, ticket_categories, ticket_tags
from .ticket import Direction, Interactor, Message, Post, Ticket, TicketKind, TicketStatus
from .user import ApiToken, Role, User, hash_token

__all__ = ["PENDING_SUGGESTION", "BulkJob", "BulkStatus", "note_mentions", "ticket_search", "Folder", "FolderTotal", "TicketCount", 
    "ActionAttempt", "ActionState", "InteractorList", "KeywordList", "Rule", "RuleRun", "RuleRunStatus", "RuleVersion", "Notification", "Setting", "ApiToken", "Base", "Category", "Channel", "ChannelStatus", "Direction",
    "Followup", "FollowupStatus", "FollowupType", "History", "Interactor", "Message",
    "OutboundAction", "Post", "RawEvent", "RawEventStatus", "Role", "SavedReply", "Tag", "Team", "Ticket", "TicketKind",
    "TicketStatus", "TimestampMixin", "User", "hash_token", "saved_reply_channels", "ticket_categories", "team_channels", "team_members", "ticket_tags", "ticket_mentions",
    "to_utc_naive", "utcnow",
]
