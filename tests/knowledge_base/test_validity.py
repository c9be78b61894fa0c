"""Every statute article's status comes from the corpus's own evidence (knowledge_base/validity.py): repealing
articles, newer versions, dates, and the reviewed override list, not the labels the sources came with."""

from __future__ import annotations

import datetime as dt

import pytest

from knowledge_base.records import Record
from knowledge_base.repeals import repealed_laws
from knowledge_base.validity import Override, assign_statuses, load_overrides

TODAY = dt.date(2026, 12, 1)


def statute(title, no, text="……", status=None, version="2020-01-01", effective=None):
    return Record(
        id=f"{title}-{no}-{version}",
        kind="statute",
        title=title,
        article_no=no,
        text=text,
        status=status,
        version_date=version,
        effective_date=effective,
    )


def by_title(records):
    return {(r.title, r.version_date): r.status for r in records}


def test_a_repealing_article_repeals_from_the_day_its_law_takes_effect():
    code = statute(
        "生态环境法典",
        "第一千二百四十二条",
        "本法自2026年8月15日起施行。《环境保护法》、《噪声法》同时废止。",
        version="2026-03-12",
        effective="2026-08-15",
    )
    later = statute(
        "未来法典",
        "第九十条",
        "本法自2027年1月1日起施行。《旧条例》同时废止。",
        version="2026-06-01",
        effective="2027-01-01",
    )
    laws = [
        code,
        later,
        statute("环境保护法", "第一条", status="现行有效"),
        statute("噪声法", "第一条"),
        statute("旧条例", "第一条"),
    ]
    report = assign_statuses(laws, today=TODAY, overrides={})
    status = {r.title: r for r in laws}
    assert status["环境保护法"].status == "已废止" and status["噪声法"].status == "已废止"
    assert (
        status["环境保护法"].extra["validity"] == "废止：《生态环境法典》第一千二百四十二条（2026-08-15起）"
    )
    # Not yet: in force until then, and the build says so.
    assert status["旧条例"].status == "现行有效"
    assert status["未来法典"].status == "尚未施行"
    assert any("旧条例: in force until 2027-01-01" in line for line in report)


def test_a_repealed_label_without_evidence_is_not_believed_and_is_reported():
    laws = [statute("农村土地承包法", f"第{i}条", status="已废止", version="2018-12-29") for i in "一二三"]
    report = assign_statuses(laws, today=TODAY, overrides={})
    assert {r.status for r in laws} == {"现行有效"}
    assert report == [
        "农村土地承包法: labelled 已废止 by its source, but no repealing article, override or newer "
        "version in the corpus: served as 现行有效"
    ]


def test_the_reviewed_list_decides_what_the_corpus_cannot_show():
    laws = [statute("某决定", "第一条"), statute("另一法", "第一条", status="已废止")]
    assign_statuses(
        laws,
        today=TODAY,
        overrides={
            "某决定": Override("已废止", "由一个不在语料中的决定废止"),
            "另一法": Override("现行有效", "来源标注错误"),
        },
    )
    assert [r.status for r in laws] == ["已废止", "现行有效"]
    assert laws[0].extra["validity"] == "人工核对：由一个不在语料中的决定废止"


def test_only_the_newest_version_is_in_force_and_source_labels_of_amendment_stay():
    laws = [
        statute("治安管理处罚法", "第一条", version="2012-10-26"),
        statute("治安管理处罚法", "第一条", version="2025-06-27", effective="2026-01-01"),
        statute("刑法", "第一条", status="已被修改"),
    ]
    assign_statuses(laws, today=TODAY, overrides={})
    assert by_title(laws) == {
        ("治安管理处罚法", "2012-10-26"): "历史版本",
        ("治安管理处罚法", "2025-06-27"): "现行有效",
        ("刑法", "2020-01-01"): "已被修改",
    }


def test_parts_of_one_text_with_different_dates_are_not_two_versions():
    """A date counts as an older version only when its article numbers come again in the newest one."""
    laws = [
        statute("民法典", "第一条", version="2021-01-01"),
        statute("民法典", "第二条", version="2021-01-01"),
        statute("民法典", "第三条", version="2020-05-28"),
        statute("劳动法", "第一条", version="2009-08-27"),
        statute("劳动法", "第二条", version="2009-08-27"),
        statute("劳动法", "第一条", version="2018-12-29"),
    ]
    assign_statuses(laws, today=TODAY, overrides={})
    assert [r.status for r in laws] == [
        "现行有效",
        "现行有效",
        "现行有效",
        "历史版本",
        "历史版本",
        "现行有效",
    ]


def test_a_version_not_yet_in_force_leaves_the_one_before_it_in_force():
    laws = [
        statute("农业法", "第一条", status="历史版本", version="2012-12-28"),
        statute("农业法", "第一条", version="2026-09-01", effective="2027-01-01"),
    ]
    assign_statuses(laws, today=TODAY, overrides={})
    assert by_title(laws) == {("农业法", "2012-12-28"): "现行有效", ("农业法", "2026-09-01"): "尚未施行"}
    assert laws[0].extra["validity"] == "新版本自2027-01-01起施行，在此之前适用本版本"


def test_every_override_has_a_status_and_a_reason():
    overrides = load_overrides()
    assert "中华人民共和国农村土地承包法" in overrides
    assert all(o.reason and o.status for o in overrides.values())


@pytest.fixture(scope="module")
def whole_corpus():
    """What a fresh install serves: the embedded database and the vendored statute file, merged as the build
    merges them (the newest version of each law)."""
    from knowledge_base.build import merge_sources, statute_sources

    records, _ = merge_sources([(s, list(s.read())) for s in statute_sources()])
    labels = {r.id: r.status for r in records}
    repeals = repealed_laws(records)  # from the laws in force by their labels, before any status is changed
    assign_statuses(records, today=dt.date.today())
    return records, labels, repeals


def test_the_whole_corpus_against_its_repealing_articles(whole_corpus):
    """No repealed law is served as in force, no article of a law in force is labelled repealed, every article
    has a status, and the 农村土地承包法 is in force."""
    records, _, _ = whole_corpus
    statutes = [r for r in records if r.kind == "statute"]
    assert all(r.status for r in statutes)
    repeals = repealed_laws(statutes)
    overrides = load_overrides()
    starts: dict[str, str] = {}
    for r in statutes:
        starts[r.title] = max(starts.get(r.title, ""), r.effective_date or r.version_date or "")
    today = dt.date.today().isoformat()
    in_effect = {
        t for t, label in repeals.items() if starts.get(label.split("》")[0].lstrip("《"), "") <= today
    }
    assert len(in_effect) >= 40  # the Civil Code's, the tax laws', the 生态环境法典's …
    # A law a repealing article names is never served as in force once that repeal has taken effect.
    wrongly_in_force = {r.title for r in statutes if r.title in in_effect and r.status != "已废止"}
    assert wrongly_in_force == set()
    # Every article labelled repealed has its evidence: a repealing article or a reviewed override.
    unsupported = {
        r.title
        for r in statutes
        if r.status == "已废止" and r.title not in repeals and r.title not in overrides
    }
    assert unsupported == set()
    land = [r for r in statutes if r.title == "中华人民共和国农村土地承包法"]
    assert land and {r.status for r in land} == {"现行有效"}
    # The 噪声污染防治法 repealed the 环境噪声污染防治法 in 2022 and was itself repealed by the 生态环境法典: the
    # older law does not come back.
    old_noise = [r for r in statutes if r.title == "中华人民共和国环境噪声污染防治法"]
    assert old_noise and {r.status for r in old_noise} == {"已废止"}
    labour_2001 = [r for r in statutes if r.title == "最高人民法院关于审理劳动争议案件适用法律若干问题的解释"]
    assert labour_2001 and {r.status for r in labour_2001} == {"已废止"}  # reviewed list: 法释〔2020〕16号
    env = [r for r in statutes if r.title == "中华人民共和国环境保护法"]  # replaced by the 生态环境法典
    assert env and {r.status for r in env} == {"已废止"}
    # The statute file dates 79 articles of the 民法典 2020-05-28 and the rest 2021-01-01: one text, all in force.
    civil = [r for r in statutes if r.title == "中华人民共和国民法典"]
    assert len(civil) >= 1260 and {r.status for r in civil} == {"现行有效"}
