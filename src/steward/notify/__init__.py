"""Notifications: channels, routing, retries and the delivery log.

Channels (a Slack-compatible webhook, a signed JSON webhook, SMTP email, and any plug-in)
register in :data:`CHANNEL_TYPES`; :class:`Notifier` routes a :class:`Notification` to the
configured channels, retries with backoff, and logs every attempt in the database.
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
from steward.notify.service import (
    Notifier,
    configure_channel,
    delivery_log,
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
    "ChannelType",
    "Delivery",
    "DeliveryResult",
    "DeliveryStatus",
    "EmailChannel",
    "EmailConfig",
    "Notification",
    "Notifier",
    "Outcome",
    "RetryPolicy",
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
    "get_channel",
    "get_delivery",
    "list_channels",
    "purge_delivery_log",
    "remove_channel",
    "sign",
    "verify_signature",
]
