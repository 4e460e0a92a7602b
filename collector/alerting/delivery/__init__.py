"""Alert delivery: channels (chat robots, apprise, Alertmanager), rate limits, retries, delivery log."""

from collector.alerting.delivery.config import ChannelSettings, NotifySettings, RetrySettings
from collector.alerting.delivery.message import Outgoing

__all__ = ["ChannelSettings", "NotifySettings", "Outgoing", "RetrySettings"]
