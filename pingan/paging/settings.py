"""The `[paging]` config section. Secrets come from the environment (PINGAN_TENCENTCLOUD_SECRET_ID,
PINGAN_TENCENTCLOUD_SECRET_KEY), never from config.toml."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class PagingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="page by SMS/voice (needs the Tencent Cloud settings below)")
    after_minutes: float = Field(5, gt=0, description="an urgent ticket unanswered this long is paged")
    every_minutes: float = Field(5, gt=0, description="then one tier further up the ladder this often")
    horizon_hours: float = Field(24, gt=0, description="paging gives up on a ticket this long after dispatch")
    voice: bool = Field(False, description="also a voice notification call (VMS) to each number")
    per_phone_per_hour: int = Field(5, ge=1, description="at most this many pages per phone and hour")
    secret_id: str = ""
    secret_key: str = ""
    region: str = "ap-guangzhou"
    scheme: Literal["https", "http"] = "https"
    sms_endpoint: str = "sms.tencentcloudapi.com"
    vms_endpoint: str = "vms.tencentcloudapi.com"
    sms_app_id: str = Field("", description="SmsSdkAppId")
    sign_name: str = Field("", description="the approved SMS signature (签名), e.g. 平安社区")
    sms_template_id: str = Field("", description="template with {1} ticket number, {2} what, {3} where")
    vms_app_id: str = Field("", description="VoiceSdkAppid")
    voice_template_id: str = Field("", description="TTS template with the same three parameters")
    timeout_seconds: float = Field(10, gt=0)
    reply_token: str = Field("", description="the secret last part of the SMS reply callback URL, "
                             "/paging/tencent/sms-reply/<token> (env PINGAN_PAGING_REPLY_TOKEN; '' = no endpoint)")
    reply_max_age_seconds: float = Field(600, gt=0, description="an SMS reply callback older than this is refused")

    @model_validator(mode="after")
    def _complete(self) -> "PagingSettings":
        """Paging on with a piece missing would only fail at 2 a.m.: say so at start-up."""
        if self.enabled:
            need = ["secret_id", "secret_key", "sms_app_id", "sign_name", "sms_template_id"]
            need += ["vms_app_id", "voice_template_id"] if self.voice else []
            missing = [k for k in need if not getattr(self, k)]
            if missing:
                raise ValueError(f"paging is enabled but {', '.join(missing)} not set (secrets: "
                                 "PINGAN_TENCENTCLOUD_SECRET_ID / PINGAN_TENCENTCLOUD_SECRET_KEY)")
        return self

