"""Outbox senders that page through Tencent Cloud with its official SDKs: `sms` (SMS SendSms) and
`voice` (VMS SendTtsVoice); and the SMS reply callback (短信回复) by which a paged person answers
「1」. A page is an outbox row whose chat id is the mobile number and whose text parts are the
template's parameters, in order. The SDKs are synchronous: calls run on a thread.

Provider answers become the outbox's outcomes: throttling waits (retry_after), a number, template,
signature, balance or credential the provider refuses is permanent (dead letter → the admins hear
of it and phone by hand), anything else is retried with backoff."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from datetime import datetime, timezone

from aiohttp import web

from pingan.bot.outbox import SendError
from pingan.messages import ChatRef, Outbound, Text
from pingan.paging.settings import PagingSettings
from pingan.rules.paging import answer_by_sms

log = logging.getLogger("pingan.paging")
REPLY_PATH = "/paging/tencent/sms-reply/{token}"

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


def national(mobile: str) -> str:
    """'+86 138-0000-0003', '8613800000003' → '13800000003' (a mainland mobile as people write it)."""
    digits = e164(mobile)[1:]
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


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


def _refuse(status: int, why: str) -> web.Response:
    log.warning("SMS reply callback refused (%s): %s", status, why)
    return web.json_response({"result": status, "errmsg": why}, status=status)


class SmsReplyCallback:
    """Tencent Cloud SMS's reply callback (短信回复): when someone answers an SMS, the provider POSTs
    {"extend", "mobile", "nationcode", "sign", "text", "time"} (JSON) to the URL set in its console
    and expects {"result": 0, "errmsg": "OK"}. The provider signs nothing, so the URL's last part is a
    secret (`[paging] reply_token`), the body must carry our SMS signature (`sign_name`) and be recent
    (`reply_max_age_seconds`: no replays); the number must be a person's in the organisation file. The
    reply itself is the paging rule's (rules/paging.py `answer_by_sms`)."""

    def __init__(self, bot) -> None:
        self.bot = bot

    def register(self, app: web.Application) -> None:
        app.router.add_post(REPLY_PATH, self.handle)

    def person(self, nationcode: str, mobile: str):
        if nationcode.lstrip("+") != "86":
            return None
        number = national(mobile)
        return next((p for p in self.bot.org.people.values() if p.mobile and national(p.mobile) == number), None)

    async def handle(self, request: web.Request) -> web.Response:
        s = self.bot.settings.paging
        if not hmac.compare_digest(request.match_info["token"].encode(), s.reply_token.encode()):
            return _refuse(403, "unknown callback URL")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return _refuse(400, "body is not JSON")
        fields = ("mobile", "nationcode", "sign", "text")
        if not (isinstance(body, dict) and all(isinstance(body.get(k), str) for k in fields)
                and isinstance(body.get("time"), (int, float)) and not isinstance(body["time"], bool)):
            return _refuse(400, "mobile, nationcode, sign, text (strings) and time (seconds) are required")
        if not hmac.compare_digest(body["sign"].encode(), s.sign_name.encode()):
            return _refuse(403, "not this account's SMS signature")
        now = self.bot.clock.now()
        sent = datetime.fromtimestamp(body["time"], timezone.utc)
        if not -60 <= (now - sent).total_seconds() <= s.reply_max_age_seconds:  # a minute of clock skew
            return _refuse(400, "time is too old or in the future")
        person = self.person(body["nationcode"], body["mobile"])
        if person is None:
            return _refuse(404, "the number is nobody's in the organisation file")
        answered = await answer_by_sms(self.bot, person, body["text"], sent)
        return web.json_response({"result": 0, "errmsg": "OK", "answered": answered})
