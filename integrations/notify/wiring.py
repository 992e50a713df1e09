"""Channel adapters from process settings: only channels that are configured."""

from integrations.notify.push_http import HttpPushChannel
from integrations.notify.sms_http import HttpSmsChannel
from integrations.notify.smtp import SmtpChannel
from sfa.config import Settings
from sfa.notifications.channels import ChannelAdapter
from sfa.notifications.models import Channel


def channels_from_settings(settings: Settings) -> dict[Channel, ChannelAdapter]:
    channels: dict[Channel, ChannelAdapter] = {}
    if settings.smtp_host:
        channels[Channel.email] = SmtpChannel(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout_s=settings.notify_timeout_s,
        )
    if settings.sms_gateway_url:
        channels[Channel.sms] = HttpSmsChannel(
            url=settings.sms_gateway_url,
            api_key=settings.sms_gateway_api_key,
            sender_id=settings.sms_sender_id,
            timeout_s=settings.notify_timeout_s,
        )
    if settings.push_url:
        channels[Channel.push] = HttpPushChannel(
            url=settings.push_url,
            server_key=settings.push_server_key,
            timeout_s=settings.notify_timeout_s,
        )
    return channels
