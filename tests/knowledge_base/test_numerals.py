import pytest

from knowledge_base.numerals import article_label, cn_to_int, int_to_cn, parse_article_no


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("一", 1),
        ("十", 10),
        ("十一", 11),
        ("二十", 20),
        ("一百", 100),
        ("一百零五", 105),
        ("一百二十", 120),
        ("一千零七十九", 1079),
        ("一千二百六十", 1260),
        ("两千", 2000),
        ("1079", 1079),
        ("〇", 0),
    ],
)
def test_cn_to_int(text, value):
    assert cn_to_int(text) == value


@pytest.mark.parametrize(
    "n", [1, 9, 10, 11, 19, 20, 50, 99, 100, 101, 110, 119, 1000, 1001, 1010, 1079, 1260]
)
def test_round_trip(n):
    assert cn_to_int(int_to_cn(n)) == n


def test_statute_style():
    assert int_to_cn(10) == "十"
    assert int_to_cn(105) == "一百零五"
    assert int_to_cn(1079) == "一千零七十九"
    assert int_to_cn(110) == "一百一十"
    assert article_label(120, "之一") == "第一百二十条之一"


def test_parse_article_no():
    assert parse_article_no("第一百二十条之一") == (120, "之一")
    assert parse_article_no("第1079条") == (1079, "")
    assert parse_article_no("全文") is None


def test_rejects_garbage():
    with pytest.raises(ValueError):
        cn_to_int("abc")
    with pytest.raises(ValueError):
        int_to_cn(0)
