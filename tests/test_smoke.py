from tests.conftest import COORD


async def test_resident_report_reaches_grid_worker(h):
    out = await h.say("张阿姨", "锦城花园3栋楼道里有人给电瓶车充电", group=None)
    print(out)
    assert any("#1" in text for _, text in out)
