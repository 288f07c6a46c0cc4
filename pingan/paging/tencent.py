"""Outbox senders that page through Tencent Cloud with its official SDKs: `sms` (SMS SendSms) and
`voice` (VMS SendTtsVoice). A page is an outbox row whose chat id is the mobile number and whose
text parts are the template's parameters, in order. The SDKs are synchronous: calls run on a thread.

Provider answers become the outbox's outcomes: throttling waits (retry_after), a number, template,
signature, balance or credential the provider refuses is permanent (dead letter → the admins hear
of it and phone by hand), anything else is retried with backoff."""

from __future__ import annotations

import asyncio

from pingan.bot.outbox import SendError
from pingan.messages import ChatRef, Outbound, Text
from pingan.paging.settings import PagingSettings

# seconds to wait after the provider's per-number limits; the daily one cannot wait for a night
WAIT = {"LimitExceeded.PhoneNumberThirtySecondLimit": 30, "LimitExceeded.PhoneNumberOneHourLimit": 3600,
        "RequestLimitExceeded": 1, "LimitExceeded.DeliveryFrequencyLimit": 60}
PERMANENT = ("InvalidParameterValue.", "InvalidParameter.", "AuthFailure", "UnauthorizedOperation",
             "FailedOperation.InsufficientBalanceInSmsPackage", "FailedOperation.TemplateIncorrectOrUnapproved",
             "FailedOperation.SignatureIncorrectOrUnapproved", "FailedOperation.PhoneNumberInBlacklist",
             "LimitExceeded.PhoneNumberDailyLimit", "FailedOperation.InsufficientBalance")


def outcome(code: str, message: str) -> SendError:
    text = f"{code}: {message}"
    if code in WAIT:
        return SendError(text, retry_after=WAIT[code])
    return SendError(text, permanent=code.startswith(PERMANENT))


def e164(mobile: str) -> str:
    digits = mobile.strip().replace(" ", "").replace("-", "")
    return digits if digits.startswith("+") else "+86" + digits


class _TencentSender:
    platform = ""

    def __init__(self, settings: PagingSettings) -> None:
        self.s = settings

    def profile(self, endpoint: str):
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile

        return ClientProfile(httpProfile=HttpProfile(protocol=self.s.scheme, endpoint=endpoint,
                                                     reqTimeout=self.s.timeout_seconds))

    def credential(self):
        from tencentcloud.common import credential

        return credential.Credential(self.s.secret_id, self.s.secret_key)

    def rate_limit(self, target: ChatRef) -> tuple[str, int, float]:
        return (f"page:{target.chat_id}", self.s.per_phone_per_hour, 3600.0)

    async def send(self, out: Outbound) -> str | None:
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

        params = [p.text for p in out.parts if isinstance(p, Text)]
        try:
            return await asyncio.to_thread(self.call, e164(out.target.chat_id), params)
        except TencentCloudSDKException as exc:  # the API's own errors, and the SDK's network ones
            raise outcome(exc.get_code() or "ClientNetworkError", exc.get_message()) from None


class SmsSender(_TencentSender):
    platform = "sms"

    def call(self, phone: str, params: list[str]) -> str:
        from tencentcloud.sms.v20210111 import models, sms_client

        client = sms_client.SmsClient(self.credential(), self.s.region, self.profile(self.s.sms_endpoint))
        req = models.SendSmsRequest()
        req.PhoneNumberSet, req.SmsSdkAppId, req.SignName = [phone], self.s.sms_app_id, self.s.sign_name
        req.TemplateId, req.TemplateParamSet = self.s.sms_template_id, params
        status = client.SendSms(req).SendStatusSet[0]
        if status.Code != "Ok":  # per number: the call succeeded, this message did not
            raise outcome(status.Code, status.Message)
        return status.SerialNo


class VoiceSender(_TencentSender):
    platform = "voice"

    def call(self, phone: str, params: list[str]) -> str:
        from tencentcloud.vms.v20200902 import models, vms_client

        client = vms_client.VmsClient(self.credential(), self.s.region, self.profile(self.s.vms_endpoint))
        req = models.SendTtsVoiceRequest()
        req.CalledNumber, req.VoiceSdkAppid = phone, self.s.vms_app_id
        req.TemplateId, req.TemplateParamSet, req.PlayTimes = self.s.voice_template_id, params, 2
        return client.SendTtsVoice(req).SendStatus.CallId


def paging_senders(settings: PagingSettings) -> dict:
    """The outbox senders for pages (none while paging is off)."""
    if not settings.enabled:
        return {}
    senders = {"sms": SmsSender(settings)}
    if settings.voice:
        senders["voice"] = VoiceSender(settings)
    return senders
