"""Organisation files and rosters: bad input names file, row and field, and imports nothing."""

import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from pingan.config import load_settings
from pingan.errors import ConfigError
from pingan.models import Identity, Person
from pingan.models.db import make_engine, session_factory
from pingan.models.org_file import parse_org_toml
from pingan.models.org_import import import_file

DEMO = Path(__file__).parents[1] / "pingan" / "data" / "demo_org.toml"
HEADER = "id,name,role,unit,mobile,qq,wecom,wechat,console,lead,on_duty\n"


def test_demo_org_is_valid():
    data = parse_org_toml(DEMO)
    assert {u.level for u in data.units} >= {"city", "district", "street", "community", "grid", "department"}
    assert any(p.key == "山水天成3栋" for p in data.places)  # ranges expand


def test_bad_org_file_names_the_entry_and_field(tmp_path):
    bad = tmp_path / "org.toml"
    bad.write_text('''
[[unit]]
id = "c"
name = "市"
level = "city"
[[unit]]
id = "g"
name = "网格"
level = "grid"
parent = "nowhere"
[[person]]
id = "p1"
name = "甲"
role = "wizard"
unit = "c"
mobile = "123"
''', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        parse_org_toml(bad)
    msg = str(err.value)
    assert f"{bad}: unit[1] (g) parent：未知单位「nowhere」" in msg
    assert "person[0] (p1) role：未知角色「wizard」" in msg
    assert "person[0] (p1) mobile：手机号应为 11 位数字" in msg


async def _people(url):
    engine = make_engine(url)
    async with session_factory(engine)() as s:
        people = {p.id: p for p in (await s.exec(select(Person))).all()}
        ids = {(i.platform, i.external_id): i.person_id for i in (await s.exec(select(Identity))).all()}
    await engine.dispose()
    return people, ids


async def test_roster_with_bad_rows_imports_nothing(db_url, tmp_path):
    settings = load_settings(None, env={"PINGAN__DATABASE__URL": db_url})
    await import_file(settings, DEMO)
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER
                      + "new1,新网格员,grid_worker,xinlian-g1,13900000001,30001,,,,否,是\n"
                      + "new2,,grid_worker,nowhere,139,30002,,,,maybe,\n"
                      + "new3,抢号的,grid_worker,xinlian-g1,,20001,,,,,\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        await import_file(settings, roster)
    msg = str(err.value)
    assert f"{roster}: 第3行 name：不能为空" in msg
    assert "第3行 unit：未知单位「nowhere」" in msg
    assert "第3行 mobile：手机号应为 11 位数字，不是「139」" in msg
    assert "第3行 lead：应填 是 或 否，不是「maybe」" in msg
    assert "第4行 qq：「20001」已是人员 li-wangge 的账号" in msg
    people, _ = await _people(db_url)
    assert "new1" not in people  # the good row was not imported either


async def test_roster_csv_and_xlsx_import(db_url, tmp_path):
    from openpyxl import Workbook

    settings = load_settings(None, env={"PINGAN__DATABASE__URL": db_url})
    await import_file(settings, DEMO)
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER + "new1,新网格员,grid_worker,xinlian-g1,13900000001,30001,,,,否,是\n", encoding="utf-8")
    await import_file(settings, roster)
    wb = Workbook()
    wb.active.append(HEADER.strip().split(","))
    wb.active.append(["new2", "表格员", "community_staff", "xinlian", "13900000002", 30002, "biaoge", None, None, "是", None])
    wb.save(tmp_path / "roster.xlsx")
    summary = await import_file(settings, tmp_path / "roster.xlsx")
    assert "人员 1 人" in summary
    people, ids = await _people(db_url)
    assert people["new1"].on_duty and not people["new1"].lead
    assert people["new2"].lead and people["new2"].role == "community_staff"
    assert ids[("qq", "30002")] == "new2" and ids[("wecom", "biaoge")] == "new2"


async def test_roster_saved_by_excel_on_chinese_windows_imports(db_url, tmp_path):
    """Excel's plain "CSV" on Chinese Windows is GBK: read it (as GB18030, its superset)."""
    settings = load_settings(None, env={"PINGAN__DATABASE__URL": db_url})
    await import_file(settings, DEMO)
    roster = tmp_path / "花名册.csv"
    roster.write_bytes((HEADER + "new1,新网格员,grid_worker,xinlian-g1,13900000001,30001,,,,否,是\r\n")
                       .encode("gbk"))
    assert "人员 1 人" in await import_file(settings, roster)
    people, _ = await _people(db_url)
    assert people["new1"].name == "新网格员"


async def test_roster_in_an_unknown_encoding_says_to_save_as_csv_utf8(db_url, tmp_path):
    settings = load_settings(None, env={"PINGAN__DATABASE__URL": db_url})
    roster = tmp_path / "roster.csv"
    roster.write_bytes((HEADER + "new1,新网格员,grid_worker,xinlian-g1,,,,,,,\n").encode("utf-16"))  # Excel's "Unicode 文本"
    with pytest.raises(ConfigError) as err:
        await import_file(settings, roster)
    assert str(err.value).startswith(f"{roster}: 读不懂文件的编码")
    assert "CSV UTF-8" in str(err.value) and "codec" not in str(err.value)


async def test_roster_takes_unit_names_and_chinese_role_names(db_url, tmp_path):
    settings = load_settings(None, env={"PINGAN__DATABASE__URL": db_url})
    await import_file(settings, DEMO)
    roles = {"居民": "resident", "网格员": "grid_worker", "社区工作人员": "community_staff",
             "街道干部": "street_official", "街道工作人员": "street_official", "区县干部": "district_official",
             "市级干部": "city_official", "部门联络员": "dept_liaison", "管理员": "admin"}
    units = {"居民": "", "网格员": "新联社区第一网格", "社区工作人员": "新联社区", "街道干部": "永丰街道",
             "街道工作人员": "yongfeng", "区县干部": "都江堰市", "市级干部": "成都市",
             "部门联络员": "都江堰市消防救援大队", "管理员": "成都市"}
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER + "".join(f"p{n},人{n},{role},{units[role]},,,,,,,\n" for n, role in enumerate(roles)),
                      encoding="utf-8-sig")
    await import_file(settings, roster)
    people, _ = await _people(db_url)
    for n, role in enumerate(roles):
        assert people[f"p{n}"].role == roles[role]
    assert people["p1"].unit_id == "xinlian-g1" and people["p4"].unit_id == "yongfeng"
    assert people["p7"].unit_id == "djy-fire" and people["p0"].unit_id is None


async def test_roster_bad_role_and_ambiguous_unit_name_in_chinese_and_nothing_imported(db_url, tmp_path):
    settings = load_settings(None, env={"PINGAN__DATABASE__URL": db_url})
    org = tmp_path / "org.toml"
    org.write_text('''
[[unit]]
id = "c"
name = "市"
level = "city"
[[unit]]
id = "a"
name = "甲社区"
level = "community"
parent = "c"
[[unit]]
id = "a1"
name = "第一网格"
level = "grid"
parent = "a"
[[unit]]
id = "b"
name = "乙社区"
level = "community"
parent = "c"
[[unit]]
id = "b1"
name = "第一网格"
level = "grid"
parent = "b"
''', encoding="utf-8")
    await import_file(settings, org)
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER + "p1,甲,网格员,甲社区,,,,,,,\n"
                      + "p2,乙,网格长,a1,,,,,,,\n"
                      + "p3,丙,网格员,第一网格,,,,,,,\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        await import_file(settings, roster)
    msg = str(err.value)
    assert (f"{roster}: 第3行 role：未知角色「网格长」，"
            "可用：居民、网格员、社区工作人员、街道干部、区县干部、市级干部、部门联络员、管理员") in msg
    assert "第4行 unit：有 2 个单位叫「第一网格」，请改写单位编号：a1、b1" in msg
    assert "第2行" not in msg
    people, _ = await _people(db_url)
    assert "p1" not in people  # all or nothing


def test_cli_reports_errors_and_exits_nonzero(tmp_path):
    roster = tmp_path / "r.csv"
    roster.write_text(HEADER + "x,,resident,,,,,,,,\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    run = subprocess.run([sys.executable, "-m", "pingan.cli", "org", "import", str(roster), "--db", db],
                         capture_output=True, text=True)
    assert run.returncode == 1
    assert "第2行 name：不能为空" in run.stderr and "未写入任何数据" in run.stderr


def test_config_errors_name_the_key(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[policy]\non_scene_minutes = "soon"\nresolve_small = "tomorrow"\n[server]\nport = 99999\n')
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, env={})
    msg = str(err.value)
    assert f"{cfg}: policy.on_scene_minutes:" in msg
    assert f"{cfg}: policy.resolve_small:" in msg and f"{cfg}: server.port:" in msg


def test_env_overrides_secrets_and_any_key(tmp_path):
    s = load_settings(None, env={"PINGAN_DATABASE_URL": "postgresql://x@h/db", "PINGAN__POLICY__ON_SCENE_MINUTES": "10",
                                 "PINGAN_WECHAT_TOKEN": "tok"})
    assert s.database.url == "postgresql://x@h/db" and s.policy.on_scene_minutes == 10
    assert s.platforms.wechat.token == "tok"


def test_taxonomy_has_nine_categories_and_29_items_and_longgang_is_expressible():
    from pingan.taxonomy import default_taxonomy, load_taxonomy

    tax = default_taxonomy()
    codes = [c.code for c in tax.categories]
    assert codes == ["fire", "facility", "security", "key_groups", "dispute", "food", "production", "traffic",
                     "environment", "other"]
    assert len(tax.items()) == 29
    for name in ("电瓶车违规充电", "应急通道堵塞", "燃气管道", "老旧危房", "噪音扰民", "农村群宴", "特种设备",
                 "非法营运", "生产性排污企业"):
        assert tax.item(name) is not None
    longgang = load_taxonomy(Path(__file__).parents[1] / "pingan" / "data" / "taxonomy_longgang.toml")
    assert {"余泥渣土", "危险边坡", "地面塌陷"} <= {i.name for i in longgang.items()}


async def test_a_running_bot_picks_up_a_roster_import(bot, h, settings, tmp_path):
    """李网格 moves to grid 2 by a roster import: the running bot (which remembers him) lets him act
    on grid 2's ticket once it has refreshed, without a restart."""
    await h.say("张阿姨", "锦城花园3栋楼道里有人给电瓶车充电", group=None)  # #1, grid 2 (周网格)
    assert "不在 #1 的处置链上" in (await h.say("李网格", "到场 #1"))[0][1]
    assert await bot.refresh_org() is False  # nothing imported since start-up: no reload
    roster = tmp_path / "moves.csv"
    roster.write_text(HEADER + "li-wangge,李网格,grid_worker,xinlian-g2,13800000001,20001,liwangge,,李网格,否,否\n",
                      encoding="utf-8")
    await import_file(settings, roster)
    assert "不在 #1 的处置链上" in (await h.say("李网格", "到场 #1"))[0][1]  # not yet refreshed
    assert await bot.refresh_org() is True
    assert any("已到场" in text for _, text in await h.say("李网格", "到场 #1"))


async def test_the_server_watches_for_imports(bot, h, settings, tmp_path):
    import asyncio

    from pingan.bot.server import org_watch

    settings.org.watch_seconds = 0.01
    stop, loaded = asyncio.Event(), bot.org
    watch = asyncio.create_task(org_watch(bot, h.worker, stop))
    roster = tmp_path / "new.csv"
    roster.write_text(HEADER + "new1,新网格员,grid_worker,xinlian-g1,13900000001,30001,,,,否,是\n", encoding="utf-8")
    await import_file(settings, roster)
    for _ in range(500):
        if bot.org is not loaded:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await watch
    assert bot.org is not loaded and h.worker.org is bot.org
    assert "new1" in {p.id for p in bot.org.staff("xinlian-g1")}
