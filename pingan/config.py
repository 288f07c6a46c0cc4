"""`config.toml` → validated settings. Every key has a default; secrets come from the environment.

Environment overrides: any key as PINGAN__SECTION__KEY (e.g. PINGAN__DATABASE__URL), plus the
short names in ENV_SECRETS for platform secrets.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pingan.errors import ConfigError, read_toml
from pingan.paging.settings import PagingSettings

DATA_DIR = Path(__file__).parent / "data"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BotSettings(_Section):
    name: str = "平安小助手"
    timezone: str = "Asia/Shanghai"
    followup_minutes: int = Field(5, ge=1, description="how long images/locations/answers attach to a new report")
    location_answer_hours: int = Field(24, ge=0, description="a place sent this long after a report that lacks one is its answer")
    review_returns: bool = Field(True, description="a grid worker's 退回 waits for the community lead's 复核")
    question_minutes: int = Field(10, ge=1, description="a numbered question the bot asked awaits its answer this long")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(v)
        except Exception:
            raise ValueError(f"unknown timezone {v!r}") from None
        return v


class DatabaseSettings(_Section):
    url: str = "sqlite+aiosqlite:///pingan.db"
    echo: bool = False
    synchronous: Literal["NORMAL", "FULL"] = Field(
        "NORMAL", description="SQLite: FULL also keeps the last commits through a power loss (an fsync per commit)")


class OrgSettings(_Section):
    file: str = str(DATA_DIR / "demo_org.toml")
    taxonomy: str = str(DATA_DIR / "taxonomy.toml")
    watch_seconds: float = Field(30, gt=0, description="how often `pingan serve` looks for an organisation import")


class EmergencySettings(_Section):
    """Numbers and the first lines of the reply to an urgent report (see pingan/rules/safety.py)."""

    fire: str = "119"
    police: str = "110"
    ambulance: str = "120"
    gas: str = Field("", description="the city's gas company 抢修 line ('' = named without a number)")
    lift: str = "96333"
    power: str = "95598"
    texts: dict[str, str] = Field({}, description="per hazard kind (gas, fire, …): a city's own first line")
    urge_street_after: int = Field(3, ge=0, description="an urgent ticket nobody reached: this many urges also alert the street (0 = never)")


class PolicySettings(_Section):
    """Deadline/escalation policy; snapshotted onto each ticket when it is created."""

    on_scene_minutes: int = Field(15, ge=1)
    resolve_small: str = "same_day"
    resolve_medium: str = "3d"
    resolve_large: str = "7d"
    working_days: bool = False
    holidays_file: str = ""
    reminders: list[float] = [0.5, 0.8, 1.0]
    on_overdue: Literal["remind", "escalate"] = "escalate"
    supervise_yellow: float = Field(2.0, gt=0, description="multiples of the window overdue → 黄牌")
    supervise_red: float = Field(3.0, gt=0, description="multiples of the window overdue → 红牌")
    urgent_repeat_minutes: int = Field(5, ge=1)
    urgent_call_above_every: int = Field(3, ge=0, description="urgent, nobody on scene: every Nth repeat also goes to the tier above the community (0 = never)")
    quiet_start: str = "22:00"
    quiet_end: str = "07:00"
    feedback_days: int = Field(3, ge=0, description="a resolved ticket the reporter has not rated closes itself after N days (0 = never)")

    @field_validator("resolve_small", "resolve_medium", "resolve_large")
    @classmethod
    def _window(cls, v: str) -> str:
        if v != "same_day" and not (v[:-1].isdigit() and v[-1] in "dh"):
            raise ValueError("use 'same_day', 'Nd' (days) or 'Nh' (hours)")
        return v

    @field_validator("reminders")
    @classmethod
    def _fractions(cls, v: list[float]) -> list[float]:
        if any(not 0 < f <= 1 for f in v):
            raise ValueError("reminder points are fractions of the window in (0, 1]")
        return sorted(v)

    @field_validator("quiet_start", "quiet_end")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        h, _, m = v.partition(":")
        if not (h.isdigit() and m.isdigit() and int(h) < 24 and int(m) < 60):
            raise ValueError("use HH:MM")
        return v


class KeywordSettings(_Section):
    """Status words workers and residents type. First word of each list is shown in help."""

    ack: list[str] = ["签收", "收到"]
    on_scene: list[str] = ["到场", "已到场", "已到", "到了", "到啦", "我到了", "已到达", "到现场了"]
    progress: list[str] = ["处理中", "整改中", "处置中"]
    resolve: list[str] = ["办结", "已处置", "已解决", "已处理", "已办结", "办好了", "搞定了", "搞定", "处理好了",
                          "弄好了", "处理完了", "处理完毕"]
    escalate: list[str] = ["呼叫", "上报"]
    transfer: list[str] = ["派单", "转派", "转"]
    return_: list[str] = Field(["退回"], alias="return")
    grade: list[str] = ["定级"]
    query: list[str] = ["查询", "进度"]
    note: list[str] = ["说明", "备注", "补充"]
    withdraw: list[str] = ["撤销", "撤回"]
    recategorise: list[str] = ["改类", "改分类"]
    relocate: list[str] = ["改地点", "改位置"]
    reassign: list[str] = ["改派"]
    merge: list[str] = ["合并"]
    satisfied: list[str] = ["满意", "1"]
    unsatisfied: list[str] = ["不满意", "2"]
    help: list[str] = ["帮助", "help", "菜单", "?", "？"]
    workbench: list[str] = ["看板", "工作台"]  # the whole message: a one-time sign-in link to the web workbench

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    max_body_bytes: int = Field(256 * 1024, ge=1024)
    rate_limit_per_minute: int = Field(120, ge=1)  # per source IP on the public callback endpoints
    rate_limit_exempt: list[str] = []  # IPs/CIDRs never rate-limited (e.g. a trusted reverse proxy)
    recover_seconds: int = Field(300, ge=1)  # sweep for stored-but-unhandled messages this often
    store_budget_seconds: float = Field(2.0, gt=0, description="how long storing a message may wait for a busy database before the request gets 503")
    retry_base_seconds: float = Field(1.0, gt=0, description="first wait before handling again after a transient database error (doubles each time)")
    dedupe_days: int = Field(7, ge=1, description="a platform message id seen again within this many days is a re-delivery")
    parse_processes: int = Field(1, ge=0, description="worker processes that parse incoming texts beside the event loop (0 = in the server's process)")


class SchedulerSettings(_Section):
    enabled: bool = Field(True, description="run the sweep and digest jobs inside `pingan serve`")
    sweep_seconds: int = Field(60, ge=1)
    campaign_start: str = ""
    campaign_days: int = 100
    community_digest_at: str = "18:00"
    official_digest_at: str = "08:30"
    weekly_digest_day: str = Field("mon", description="officials also get last week's summary that day ('' = off)")
    late_after_seconds: int = Field(300, ge=1, description="an action this far behind its time is marked (补发)")
    batch_size: int = Field(500, ge=1, description="tickets claimed per sweep transaction")
    overdue_list_cap: int = Field(5, ge=1, description="overdue tickets listed by name in a digest")
    digest_charts: bool = True
    chart_font: str = Field("", description="a CJK font file or family for charts ('' = find one)")
    chart_processes: int = Field(1, ge=0, description="worker processes that draw a city's digest charts (0 = a thread)")
    files_dir: str = Field("pingan-files", description="where digest charts and ledger exports are written")
    image_platforms: list[str] = ["qq", "wecom", "console"]
    file_platforms: list[str] = ["qq", "wecom", "console"]

    @field_validator("community_digest_at", "official_digest_at")
    @classmethod
    def _at(cls, v: str) -> str:
        h, _, m = v.partition(":")
        if not (h.isdigit() and m.isdigit() and int(h) < 24 and int(m) < 60):
            raise ValueError("use HH:MM")
        return v

    @field_validator("campaign_start")
    @classmethod
    def _date(cls, v: str) -> str:
        if v:
            from datetime import date

            date.fromisoformat(v)
        return v


class OutboxSettings(_Section):
    max_attempts: int = Field(8, ge=1)
    base_delay_seconds: float = Field(2.0, gt=0)
    max_delay_seconds: float = Field(600.0, gt=0)
    lease_seconds: float = Field(120.0, gt=0)  # a claimed row is another server's again after this
    batch: int = Field(200, ge=1)
    concurrency: int = Field(64, ge=1)  # chats being sent at once
    interval_seconds: float = Field(0.5, gt=0)
    send_timeout_seconds: float = Field(30.0, gt=0)
    qq_per_chat_per_minute: int = Field(20, ge=1)  # keep QQ accounts from being flagged


class OneBotSettings(_Section):
    enabled: bool = False
    access_token: str = ""
    secret: str = ""
    api_url: str = ""  # HTTP API of the client for the HTTP transport, e.g. http://127.0.0.1:3000
    action_timeout_seconds: float = 10.0
    # with neither access token nor secret, OneBot refuses to start unless this allows clients on
    # this machine (127.0.0.1/::1) to connect unauthenticated
    allow_unauthenticated_loopback: bool = False


class WeChatSettings(_Section):
    enabled: bool = False
    app_id: str = ""
    app_secret: str = ""
    token: str = ""
    aes_key: str = ""
    api_base: str = "https://api.weixin.qq.com"
    unit: str = ""  # unit the account serves (routing fallback)
    template_id: str = ""  # template message used outside the 48-hour customer-service window
    template_field: str = "content"  # the template's data key that carries the text
    window_hours: float = 48.0
    passive_budget_seconds: float = 3.0  # answer within WeChat's 5 s; the rest goes out via the outbox


class WeComSettings(_Section):
    enabled: bool = False
    webhook_base: str = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
    bot_token: str = ""
    bot_aes_key: str = ""
    per_minute: int = 20
    bot_name: str = ""  # the intelligent robot's display name, stripped from "@name text"
    passive_budget_seconds: float = 3.0


class WebSettings(_Section):
    """The officials' workbench (pingan/web): sign-in links, sessions, live wall, metrics, Open311."""

    enabled: bool = True
    base_url: str = Field("", description="the workbench's address in sign-in links ('' = http://host:port)")
    secret: str = Field("", description="signs sign-in links (env PINGAN_WEB_SECRET; '' = a key kept in the database)")
    link_minutes: int = Field(10, ge=1)
    session_hours: float = Field(12, gt=0)
    live_seconds: float = Field(2.0, gt=0, description="how often the live wall looks for moved tickets")
    page_size: int = Field(50, ge=1, le=500)
    metrics_token: str = Field("", description="env PINGAN_METRICS_TOKEN; '' = /metrics only from localhost")
    open311_keys: str = Field("", description="env PINGAN_OPEN311_KEYS: 'client:key,client:key'")
    photos_dir: str = Field("pingan-photos", description="where photos are kept once fetched")


class PhotosSettings(_Section):
    """Where fetched photos are kept (pingan/web/photos.py): `[web] photos_dir`, or an S3-compatible
    bucket (MinIO, OSS, COS, OBS, AWS) whose keys come from the environment."""

    store: Literal["local", "s3"] = "local"
    s3_endpoint: str = Field("", description="e.g. https://oss-cn-chengdu.aliyuncs.com (http:// for a plain-HTTP MinIO)")
    s3_bucket: str = ""
    s3_region: str = Field("", description="'' = asked of the server")
    s3_prefix: str = Field("photos/", description="object names start with this")
    s3_access_key: str = Field("", description="env PINGAN_PHOTOS_S3_ACCESS_KEY")
    s3_secret_key: str = Field("", description="env PINGAN_PHOTOS_S3_SECRET_KEY")
    link_seconds: int = Field(300, ge=1, le=604800, description="how long a signed-in viewer's link to an S3 photo lasts")

    @model_validator(mode="after")
    def _s3_complete(self) -> "PhotosSettings":
        if self.store == "s3":
            env = {"s3_access_key": " (env PINGAN_PHOTOS_S3_ACCESS_KEY)", "s3_secret_key": " (env PINGAN_PHOTOS_S3_SECRET_KEY)"}
            missing = [f"photos.{k}{env.get(k, '')}" for k in ("s3_endpoint", "s3_bucket", "s3_access_key", "s3_secret_key")
                       if not getattr(self, k)]
            if missing:
                raise ValueError("store = \"s3\" needs " + ", ".join(missing))
            if not self.s3_endpoint.startswith(("http://", "https://")):
                raise ValueError("photos.s3_endpoint: use http(s)://host[:port]")
        return self


class PlatformSettings(_Section):
    onebot: OneBotSettings = OneBotSettings()
    wechat: WeChatSettings = WeChatSettings()
    wecom: WeComSettings = WeComSettings()


class Settings(_Section):
    bot: BotSettings = BotSettings()
    database: DatabaseSettings = DatabaseSettings()
    org: OrgSettings = OrgSettings()
    emergency: EmergencySettings = EmergencySettings()
    policy: PolicySettings = PolicySettings()
    keywords: KeywordSettings = KeywordSettings()
    server: ServerSettings = ServerSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    outbox: OutboxSettings = OutboxSettings()
    platforms: PlatformSettings = PlatformSettings()
    paging: PagingSettings = PagingSettings()
    web: WebSettings = WebSettings()
    photos: PhotosSettings = PhotosSettings()
    source: str = "<defaults>"

    def workbench_url(self) -> str:
        """The workbench's address, as links in chat and in the ledger give it."""
        return self.web.base_url.rstrip("/") or f"http://{self.server.host}:{self.server.port}"


# Short environment names for secrets, so deployments never write them into config.toml.
ENV_SECRETS = {
    "PINGAN_DATABASE_URL": ("database", "url"),
    "PINGAN_ONEBOT_ACCESS_TOKEN": ("platforms", "onebot", "access_token"),
    "PINGAN_ONEBOT_SECRET": ("platforms", "onebot", "secret"),
    "PINGAN_WECHAT_APP_SECRET": ("platforms", "wechat", "app_secret"),
    "PINGAN_WECHAT_TOKEN": ("platforms", "wechat", "token"),
    "PINGAN_WECHAT_AES_KEY": ("platforms", "wechat", "aes_key"),
    "PINGAN_WECOM_BOT_TOKEN": ("platforms", "wecom", "bot_token"),
    "PINGAN_WECOM_BOT_AES_KEY": ("platforms", "wecom", "bot_aes_key"),
    "PINGAN_TENCENTCLOUD_SECRET_ID": ("paging", "secret_id"),
    "PINGAN_TENCENTCLOUD_SECRET_KEY": ("paging", "secret_key"),
    "PINGAN_PAGING_REPLY_TOKEN": ("paging", "reply_token"),
    "PINGAN_WEB_SECRET": ("web", "secret"),
    "PINGAN_METRICS_TOKEN": ("web", "metrics_token"),
    "PINGAN_OPEN311_KEYS": ("web", "open311_keys"),
    "PINGAN_PHOTOS_S3_ACCESS_KEY": ("photos", "s3_access_key"),
    "PINGAN_PHOTOS_S3_SECRET_KEY": ("photos", "s3_secret_key"),
    # WeCom group-robot webhook keys are read per group: PINGAN_WECOM_WEBHOOK_<CHAT_ID> (see docs/platforms.md)
}


def _set(tree: dict, path: tuple[str, ...], value: str) -> None:
    for key in path[:-1]:
        tree = tree.setdefault(key, {})
    tree[path[-1]] = value


def _env_overrides(data: dict, env: dict[str, str]) -> None:
    for name, path in ENV_SECRETS.items():
        if env.get(name):
            _set(data, path, env[name])
    for name, value in env.items():
        if name.startswith("PINGAN__"):
            path = tuple(p.lower() for p in name[len("PINGAN__"):].split("__") if p)
            if path:
                _set(data, path, value)


def _resolve_paths(data: dict, base: Path) -> None:
    org = data.get("org", {})
    for key in ("file", "taxonomy"):
        if isinstance(org.get(key), str) and org[key] and not Path(org[key]).is_absolute():
            org[key] = str((base / org[key]).resolve())


def load_settings(path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Load `path` (or $PINGAN_CONFIG, or ./config.toml if present, else defaults) with env overrides."""
    env = dict(os.environ) if env is None else env
    if path is None:
        path = env.get("PINGAN_CONFIG") or ("config.toml" if Path("config.toml").exists() else None)
    data: dict = {}
    source = "<defaults>"
    if path is not None:
        source = str(path)
        data = read_toml(path)
        _resolve_paths(data, Path(path).resolve().parent)
    _env_overrides(data, env)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            lines.append(f"{source}: {key}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from None
    settings.source = source
    return settings
