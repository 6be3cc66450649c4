"""Table models and the API shapes built on them."""

from app.models.events import DeadLetter, InboxEntry, OutboxEvent, ScheduledReminder
from app.models.idempotency import IdempotencyRecord
from app.models.notification import Notification
from app.models.series import RecurringSeries
from app.models.task import Tag, Task, TaskTag
from app.models.user import User
from app.models.webhook import WebhookDelivery

__all__ = [
    "DeadLetter",
    "IdempotencyRecord",
    "InboxEntry",
    "Notification",
    "OutboxEvent",
    "RecurringSeries",
    "ScheduledReminder",
    "Tag",
    "Task",
    "TaskTag",
    "User",
    "WebhookDelivery",
]
