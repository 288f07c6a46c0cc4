"""The learned place tagger (pingan/parser/place_model.py) and how the rules use it (issue 14, point 3).
Every sentence here is written for this file, none is in the training data."""

from __future__ import annotations

import pytest

from pingan.parser import parse, place_model
from pingan.parser.engine import _runtime
from pingan.parser.normalise import clean
from pingan.taxonomy import default_taxonomy


def _finder():
    return _runtime(default_taxonomy()).places


class _Fixed:
    """A tagger that finds the given (start, end, confidence) spans whatever the text."""

    def __init__(self, spans):
        self._spans = spans

    def spans(self, xseq):
        return self._spans


@pytest.fixture
def fixed(monkeypatch):
    def use(*spans):
        monkeypatch.setattr(place_model, "tagger", lambda: _Fixed(list(spans)))
    return use


def test_the_shipped_model_loads_once():
    t = place_model.tagger()
    assert set(t.tagger.labels()) == {"B", "I", "O"}
    assert place_model.tagger() is t


def test_bio_labels_every_occurrence_and_skips_a_gold_not_written():
    assert place_model.bio("车棚着火了,车棚里", "车棚") == ["B", "I", "O", "O", "O", "O", "B", "I", "O"]
    assert place_model.bio("楼道有烟", "车库") is None


@pytest.mark.parametrize("text, place", [
    # the rules see a generic spot ("幼儿园", "城中村"); the tagger reads the place written around it
    ("幼儿园后面那个工地塔吊歪了", "工地"),
    ("城中村里那个小作坊在做假酒,好多人买来喝", "小作坊"),
])
def test_the_tagger_finds_a_place_the_rules_miss(text, place):
    assert place in (parse(text).location or "")
    assert place not in (_finder()._pick(clean(text), None, _finder().find_all(clean(text)))[0] or "")


@pytest.mark.parametrize("text, place", [
    ("锦绣花园3栋楼道里有一股煤气味", "锦绣花园3栋"),
    ("3栋2单元楼道里有一股煤气味", "3栋2单元"),  # a building number says which place too
])
def test_a_named_rules_pick_is_kept_whatever_the_tagger_says(fixed, text, place):
    fixed((text.index("楼道"), text.index("楼道") + 2, 0.99))  # "楼道", fully confident
    assert _finder().best(text) == place


def test_a_weak_tagger_span_leaves_the_rules_generic_pick(fixed):
    text = "楼下车棚里好多电瓶车在充电"
    fixed((0, 4, place_model.MIN_CONF - 0.05))
    assert _finder().best(text) != "楼下车棚"
    fixed((0, 4, place_model.MIN_CONF + 0.05))
    assert _finder().best(text) == "楼下车棚"


def test_a_tagger_span_with_no_place_mark_is_never_output(fixed):
    text = "老汉儿心口痛 脸都白了 一个人在家"
    fixed((0, 6, 0.99))
    assert _finder().best(text) is None


def test_of_two_confident_spans_the_more_confident_wins(fixed):
    text = "门口的菜市场和后面的停车场都堆满了垃圾"
    fixed((3, 6, 0.8), (10, 13, 0.9))
    assert _finder().best(text) == "停车场"
