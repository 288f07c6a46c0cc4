"""A local stand-in for Tencent Cloud's SMS (2021-01-11 SendSms) and VMS (2020-09-02 SendTtsVoice)
APIs, for the real SDKs to talk to: it verifies the TC3-HMAC-SHA256 signature of every request and
answers as the provider does: per-number status codes, the 30-second limit per number, API-level
errors ({"Response": {"Error": …}}), and errors a test queues for the next calls. It also makes the
provider's SMS reply callback (短信回复) to a URL, as the provider does when someone answers an SMS."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from dataclasses import dataclass, field

from aiohttp import web

AUTH = re.compile(r"TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>[\d-]+)/(?P<service>\w+)/tc3_request, "
                  r"SignedHeaders=(?P<headers>[\w;-]+), Signature=(?P<sig>[0-9a-f]{64})")
PHONE = re.compile(r"\+861\d{10}")


def answer(payload: dict, status: int = 200) -> web.Response:
    """JSON as the provider sends it: Content-Type exactly application/json (the SDK checks it)."""
    return web.Response(body=json.dumps(payload, ensure_ascii=False).encode(), status=status,
                        headers={"Content-Type": "application/json"})


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def tc3_signature(secret_key: str, method: str, headers: dict, signed: list[str], body: bytes,
                  timestamp: str, day: str, service: str) -> str:
    """The TC3-HMAC-SHA256 signature as the provider computes it (its public signing spec)."""
    canonical_headers = "".join(f"{h}:{headers.get(h, '').strip().lower()}\n" for h in signed)
    canonical = "\n".join([method, "/", "", canonical_headers, ";".join(signed), hashlib.sha256(body).hexdigest()])
    scope = f"{day}/{service}/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", timestamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), day), service), "tc3_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass
class StandIn:
    secret_id: str
    secret_key: str
    now: object  # () -> aware datetime: the test's clock, for the per-number limit
    sms_app_id: str = "1400000001"
    vms_app_id: str = "1400000002"
    sign_name: str = "平安社区"
    sent: list = field(default_factory=list)  # (action, phone, params)
    refused: list = field(default_factory=list)  # (action, code)
    fail_next: list = field(default_factory=list)  # codes to answer the next calls with
    last: dict = field(default_factory=dict)  # (product, phone) → when it last got a message

    def error(self, code: str, message: str, status: int = 200) -> web.Response:
        self.refused.append(code)
        return answer({"Response": {"Error": {"Code": code, "Message": message},
                                               "RequestId": str(uuid.uuid4())}}, status=status)

    def check_signature(self, request: web.Request, body: bytes) -> str | None:
        import time

        m = AUTH.fullmatch(request.headers.get("Authorization", ""))
        if m is None:
            return "AuthFailure.SignatureFailure"
        if m["id"] != self.secret_id:
            return "AuthFailure.SecretIdNotFound"
        ts = request.headers.get("X-TC-Timestamp", "")
        if not ts.isdigit() or abs(int(ts) - time.time()) > 300:  # the signature's own time is real time
            return "AuthFailure.SignatureExpire"
        headers = {k.lower(): v for k, v in request.headers.items()}
        want = tc3_signature(self.secret_key, request.method, headers, m["headers"].split(";"), body, ts,
                             m["date"], m["service"])
        return None if hmac.compare_digest(want, m["sig"]) else "AuthFailure.SignatureFailure"

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        why = self.check_signature(request, body)
        if why:
            return self.error(why, "the request signature does not match")
        if self.fail_next and not self.fail_next[0].startswith("LimitExceeded.Phone"):
            return self.error(self.fail_next.pop(0), "injected")
        action, params = request.headers.get("X-TC-Action"), json.loads(body)
        if action == "SendSms" and request.headers.get("X-TC-Version") == "2021-01-11":
            return self.send_sms(params)
        if action == "SendTtsVoice" and request.headers.get("X-TC-Version") == "2020-09-02":
            return self.send_voice(params)
        return self.error("InvalidAction", f"{action} is not supported")

    def number_status(self, product: str, phone: str) -> tuple[str, str]:
        if not PHONE.fullmatch(phone):
            return "InvalidParameterValue.IncorrectPhoneNumber", "incorrect phone number"
        if self.fail_next:
            return self.fail_next.pop(0), "injected"
        now = self.now()
        if (product, phone) in self.last and (now - self.last[(product, phone)]).total_seconds() < 30:
            return "LimitExceeded.PhoneNumberThirtySecondLimit", "the same number within 30 seconds"
        self.last[(product, phone)] = now
        return "Ok", "send success"

    def send_sms(self, p: dict) -> web.Response:
        if p.get("SmsSdkAppId") != self.sms_app_id:
            return self.error("InvalidParameterValue.SdkAppIdNotExist", "SmsSdkAppId does not exist")
        if p.get("SignName") != self.sign_name:
            return self.error("FailedOperation.SignatureIncorrectOrUnapproved", "signature not approved")
        statuses = []
        for phone in p.get("PhoneNumberSet") or []:
            code, message = self.number_status("sms", phone)
            if code == "Ok":
                self.sent.append(("sms", phone, p.get("TemplateParamSet")))
            else:
                self.refused.append(code)
            statuses.append({"SerialNo": uuid.uuid4().hex if code == "Ok" else "", "PhoneNumber": phone,
                             "Fee": 1 if code == "Ok" else 0, "SessionContext": "", "Code": code,
                             "Message": message, "IsoCode": "CN"})
        return answer({"Response": {"SendStatusSet": statuses, "RequestId": str(uuid.uuid4())}})

    def send_voice(self, p: dict) -> web.Response:
        if p.get("VoiceSdkAppid") != self.vms_app_id:
            return self.error("InvalidParameterValue.SdkAppidNotExist", "VoiceSdkAppid does not exist")
        code, message = self.number_status("voice", p.get("CalledNumber", ""))
        if code != "Ok":
            return self.error(code, message)
        self.sent.append(("voice", p["CalledNumber"], p.get("TemplateParamSet")))
        return answer({"Response": {"SendStatus": {"CallId": uuid.uuid4().hex, "SessionContext": ""},
                                               "RequestId": str(uuid.uuid4())}})

    async def reply(self, url: str, mobile: str, text: str, **override) -> tuple[int, dict]:
        """POST the reply callback as the provider sends it (its documented JSON, unsigned); returns
        the status and the JSON answer. `override` replaces or (None) drops fields."""
        import aiohttp

        body = {"extend": "", "mobile": mobile, "nationcode": "86", "sign": self.sign_name, "text": text,
                "time": int(self.now().timestamp())}
        body.update(override)
        body = {k: v for k, v in body.items() if v is not None}
        async with aiohttp.ClientSession() as client, client.post(url, json=body) as resp:
            return resp.status, await resp.json(content_type=None)

    async def start(self) -> tuple[web.AppRunner, str]:
        app = web.Application()
        app.router.add_post("/", self.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        return runner, f"127.0.0.1:{port}"
