"""Notifications: channels, routing, retries and the delivery log.

Channels (a Slack-compatible webhook, a signed JSON webhook, SMTP email, and any plug-in)
register in :data:`CHANNEL_TYPES`. :func:`enqueue` puts a :class:`Notification` in the outbox
(pending deliveries to the configured channels) in the caller's transaction; a
:class:`Dispatcher` claims and sends them after the commit, retrying with backoff and logging
every attempt in the database. :class:`Notifier` does both at once for a caller with no
transaction of its own.
"""

from steward.notify.channels import (
    EmailChannel,
    EmailConfig,
    SlackConfig,
    SlackWebhookChannel,
    WebhookChannel,
    WebhookConfig,
)
from steward.notify.delivery import Outcome, RetryPolicy, SystemTimer, Timer, deliver
from steward.notify.dispatcher import Dispatcher, Notifier
from steward.notify.models import (
    Attempt,
    ChannelInfo,
    Delivery,
    DeliveryResult,
    DeliveryStatus,
    Notification,
    Severity,
)
from steward.notify.registry import CHANNEL_TYPES, Channel, ChannelDeps, ChannelRegistry, ChannelType
from steward.notify.sealing import ChannelSecretError, SecretBox
from steward.notify.service import (
    configure_channel,
    delivery_log,
    enqueue,
    get_channel,
    get_delivery,
    list_channels,
    purge_delivery_log,
    remove_channel,
)
from steward.notify.signing import sign, verify_signature

__all__ = [
    "CHANNEL_TYPES",
    "Attempt",
    "Channel",
    "ChannelDeps",
    "ChannelInfo",
    "ChannelRegistry",
    "ChannelSecretError",
    "ChannelType",
    "Delivery",
    "DeliveryResult",
    "DeliveryStatus",
    "Dispatcher",
    "EmailChannel",
    "EmailConfig",
    "Notification",
    "Notifier",
    "Outcome",
    "RetryPolicy",
    "SecretBox",
    "Severity",
    "SlackConfig",
    "SlackWebhookChannel",
    "SystemTimer",
    "Timer",
    "WebhookChannel",
    "WebhookConfig",
    "configure_channel",
    "deliver",
    "delivery_log",
    "enqueue",
    "get_channel",
    "get_delivery",
    "list_channels",
    "purge_delivery_log",
    "remove_channel",
    "sign",
    "verify_signature",
]
