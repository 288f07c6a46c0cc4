"""Open311 GeoReport v2: services, requests (JSON and XML, the spec's field names), POST filed
through the normal intake path; and a real Open311 client library (georeport, installed on its own: see georeport_library)."""

from __future__ import annotations

import asyncio
import importlib
import subprocess
import sys

import pytest
import xmltodict

from pingan.bot.server import make_app
from tests.test_server import Running

KEY = "k-311"


@pytest.fixture
async def api(bot, settings):
    settings.web.open311_keys = f"fixmyapp:{KEY},other:zzz"
    async with Running(make_app(bot, env={})) as r:
        yield r


REPORT = {"api_key": KEY, "service_code": "fire-2", "address_string": "锦城花园3栋",
          "description": "楼道里有人给电瓶车充电,线拖到一楼", "email": "zhang@example.org", "first_name": "张"}


async def test_services_are_the_29_items_in_json_and_xml(api):
    services = await (await api.client.get("/open311/v2/services.json")).json()
    assert len(services) == 29
    assert services[0]["service_code"] == "fire-1" and services[0]["group"] == "消防"
    assert set(services[0]) >= {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
    xml = xmltodict.parse(await (await api.client.get("/open311/v2/services.xml")).text())
    assert len(xml["services"]["service"]) == 29
    assert (await api.client.get("/open311/v2/services.csv")).status == 404


async def test_post_files_a_ticket_like_a_resident_and_get_reads_it(api, bot):
    resp = await api.client.post("/open311/v2/requests.json", data=REPORT)
    assert resp.status == 200, await resp.text()
    (made,) = await resp.json()
    rid = made["service_request_id"]
    (req,) = await (await api.client.get(f"/open311/v2/requests/{rid}.json")).json()
    assert req["status"] == "open" and req["service_code"] == "fire-2"
    assert req["agency_responsible"] == "新联社区第二网格"  # routed by the place, like a chat report
    assert req["expected_datetime"].startswith("2019-04-08T24") or req["expected_datetime"].startswith("2019-04-09T00")
    assert req["address"] == "锦城花园3栋" and "zhang" not in str(req)
    xml = xmltodict.parse(await (await api.client.get("/open311/v2/requests.xml?status=open")).text())
    assert xml["service_requests"]["request"]["service_request_id"] == rid
    closed = await (await api.client.get("/open311/v2/requests.json?status=closed")).json()
    assert closed == []


async def test_bad_requests_are_4xx_in_the_spec_error_format(api):
    resp = await api.client.post("/open311/v2/requests.json", data={**REPORT, "api_key": "wrong"})
    assert resp.status == 403 and (await resp.json())[0]["code"] == 403
    resp = await api.client.post("/open311/v2/requests.json", data={**REPORT, "service_code": "nope"})
    assert resp.status == 400
    no_place = {k: v for k, v in REPORT.items() if k != "address_string"}
    assert (await api.client.post("/open311/v2/requests.json", data=no_place)).status == 400
    resp = await api.client.post("/open311/v2/requests.xml", data={**REPORT, "lat": "north", "long": "1"})
    assert resp.status == 400 and "<errors><error><code>400</code>" in await resp.text()
    assert (await api.client.get("/open311/v2/requests.json?status=maybe")).status == 400
    assert (await api.client.get("/open311/v2/requests/abc.json")).status == 404


def georeport_library(tmp_path_factory):
    """georeport 0.3.1 pins xmltodict<0.15 while pingan needs xmltodict 1.0.4 (wechatpy), so it cannot
    be a test dependency: it is installed without its dependencies into a directory of its own (it
    works with the newer xmltodict), from the package index the tests' own install used."""
    try:
        import georeport
        return georeport
    except ImportError:
        pass
    target = tmp_path_factory.mktemp("georeport")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                           "georeport==0.3.1"], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        pytest.skip(f"could not install georeport 0.3.1: {done.stderr.strip()[-300:]}")
    sys.path.insert(0, str(target))
    return importlib.import_module("georeport")


async def test_the_georeport_client_library(api, tmp_path_factory):
    georeport = georeport_library(tmp_path_factory)
    client = georeport.GeoReport(api.url("/open311/v2/"), api_key=KEY)
    services = await asyncio.to_thread(client.get_service_list)
    assert len(services) == 29
    # georeport 0.3.1 reads only (it has no POST): file one over HTTP, read it through the library
    (made,) = await (await api.client.post("/open311/v2/requests.json", data=REPORT)).json()
    req = await asyncio.to_thread(client.get_service_request, made["service_request_id"])
    assert req["status"] == "open" and req["agency_responsible"] == "新联社区第二网格"
    found = await asyncio.to_thread(client.get_service_requests, service_code="fire-2", status="open",
                                    start_date="2019-04-01T00:00:00Z")
    assert [r["service_request_id"] for r in found] == [made["service_request_id"]]
    xml_client = georeport.GeoReport(api.url("/open311/v2/"), output_format="xml")
    assert len(await asyncio.to_thread(xml_client.get_service_list)) == 29
