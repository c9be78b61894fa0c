from knowledge_base.citations import CitationRef, find_citations


def test_book_title_and_arabic_number():
    assert find_citations("《民法典》第1079条是什么") == [CitationRef("民法典", 1079)]


def test_bare_law_name_and_chinese_number():
    assert find_citations("劳动法第五十条怎么规定的") == [CitationRef("劳动法", 50)]


def test_suffix_and_several():
    refs = find_citations("《刑法》第一百二十条之一和《刑法》第二十条")
    assert refs == [CitationRef("刑法", 120, "之一"), CitationRef("刑法", 20)]


def test_plain_question_has_none():
    assert find_citations("老板拖欠我三个月工资怎么办") == []
