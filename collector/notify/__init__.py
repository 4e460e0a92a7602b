"""Alert delivery: channels (apprise, Alertmanager), rate limits, retries, delivery log."""

from collector.notify.config import ChannelSettings, NotifySettings, RetrySettings
from collector.notify.message import Outgoing

__all__ = ["ChannelSettings", "NotifySettings", "Outgoing", "RetrySettings"]
