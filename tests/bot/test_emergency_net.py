"""The emergency safety net lets legal questions about a past event through: the rule (components.lexicon) and the
Rasa component that applies it (components.nlu.EmergencySafetyNet, run in the Rasa environment)."""

from __future__ import annotations

import pytest
from components import lexicon  # bot/components, put on sys.path by tests/bot/conftest.py

from core.settings import PROJECT_ROOT
from fengqiao.eval_nlu import read_examples, training_examples
from tests.bot.rasa_components import run_component

BOT = PROJECT_ROOT / "bot"
# The evaluation files that may be read (the held-out ones under data/eval stay unseen).
TEST_FILES = sorted((PROJECT_ROOT / "data").glob("nlu_test*.yml"))


def past(text: str) -> str | None:
    return lexicon.past_event_question(lexicon.normalize(text))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("去年我爸在医院自杀了 医院有没有责任", "去年"),
        ("上个月被人打了能要赔偿吗", "上个月"),
        ("前年被人砍伤了 现在还能起诉吗", "前年"),
        ("三年前被人捅了一刀 现在还能追究吗", "三年前"),
        ("我妈去年喝农药走了 能告卖农药的吗", "去年"),
        ("上周被邻居家的狗咬了 主人要赔吗", "上周"),
        ("2023年孩子在学校溺水了，学校要承担什么责任", "2023年"),
        ("去年被家暴，离婚时能多要财产吗", "去年"),
        ("前几天被车撞了，司机逃逸了，保险能赔吗", "前几天"),
        ("我哥以前被人打成重伤，过了这么久还能告他吗", "以前"),
        ("年轻时候被人打过，现在起诉还来得及吗", "年轻时候"),
        ("小时候被亲戚打过 现在起诉他还来得及吗", "小时候"),
        ("抢劫罪一般判几年", "罪一般判"),
        # a threat made before, what it left behind, what the writer is asked now
        ("前年被人威胁过要杀我全家，当时没报警，现在还能告吗", "前年"),
        ("三月份我爸做手术大出血，抢救过来了，是不是医院的责任", "三月份"),
        ("去年他威胁过要烧我家 现在他又在网上骂我 能告他吗", "去年"),
        ("十年前被人砍伤过 现在落下残疾 还能追究吗", "十年前"),
        ("前年吵架时他说要砍我 后来也没再来往 这算不算威胁", "前年"),
        # hypotheticals, and 现在 that only tells the story
        ("要是有人打电话说要砍我 但一直没动手 算犯法吗", "要是"),
        ("如果家里着火烧到邻居家 谁担责任", "如果"),
        ("我舅前年喝农药没死成 现在他老婆要离婚 财产咋分", "前年"),
        ("放火罪和失火罪怎么区别", "罪和失火罪怎么区别"),
        ("家暴过我的前夫现在要争抚养权 法院会判给他吗", "家暴过"),
        ("上个月被人拿刀吓唬过 对方答应赔钱到现在没给 怎么办", "上个月"),
    ],
)
def test_a_legal_question_about_a_past_event_is_not_an_emergency(text, words):
    assert past(text) == words


@pytest.mark.parametrize(
    "text",
    [
        # danger now, again or still
        "上个月他打了我，昨天又来了，怎么办",
        "以前他打过我 现在又来了",
        "前几天他说要杀我 怎么办",
        "去年他砍伤过我，今晚他说要来找我算账",
        "去年开始老公经常打我，能离婚吗",
        "老公这几年喝了酒就动手 上个月把我肋骨打断了 能离婚吗",
        "他动不动就打人 上次把我打进医院 能告他吗",
        "上次被打了，他还在门口堵着我，能告他吗",
        "去年被打伤了，现在还在流血，能要赔偿吗",
        "他去年威胁过我，现在又在门口说要杀我，能告他吗",
        "去年他说要砍我 昨天他又说要来 能告他吗",
        # the writer wants to die, whenever it began
        "去年离婚后我一直不想活",
        "上个月我女儿说不想活了 怎么办",
        "前年破产了，现在只想死，欠的钱还要还吗",
        # no past event, or no legal question
        "我想自杀",
        "我家着火了",
        "他拿刀要砍我，我能告他吗",
        "去年我爸自杀了",
    ],
)
def test_danger_now_or_no_question_about_the_past_stays_an_emergency(text):
    assert past(text) is None


def test_no_emergency_example_of_the_training_or_test_files_counts_as_a_past_event():
    examples = [(t, "training data") for t, i in training_examples(BOT) if i == "emergency"]
    for f in TEST_FILES:
        examples += [(t, f.name) for t, i in read_examples(f) if i == "emergency"]
    assert len(examples) > 200
    assert [(t, where) for t, where in examples if past(t)] == []


@pytest.mark.slow  # runs the component in the Rasa environment
def test_the_rasa_component_applies_the_rule():
    cases = [
        (
            "去年我爸在医院自杀了 医院有没有责任",
            "emergency",
        ),  # classifier and net both said emergency: demoted
        ("上个月被人打了能要赔偿吗", "emergency"),  # the classifier alone said emergency: demoted
        ("去年我爸在医院自杀了 医院有没有责任", "ask_legal_question"),  # the net does not force it
        ("我想自杀", "ask_legal_question"),  # a present emergency is still forced
        ("上个月被人打了能要赔偿吗", "greet"),  # a past event does not pick a new intent otherwise
    ]
    out = run_component(
        "EmergencySafetyNet",
        {"enabled": True},
        cases,
        ("intent", "intent_before_safety_net", "emergency_kind", "emergency_past_event"),
    )
    assert [
        (o["intent"]["name"], o["intent_before_safety_net"], o["emergency_kind"], o["emergency_past_event"])
        for o in out
    ] == [
        ("ask_legal_question", "emergency", None, "去年"),
        ("ask_legal_question", "emergency", None, "上个月"),
        ("ask_legal_question", None, None, "去年"),
        ("emergency", "ask_legal_question", "self_harm", None),
        ("greet", None, None, "上个月"),
    ]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("有人一直在踹我家门 说我欠他钱", "violence"),
        ("几个讨债的把我关在宿舍里不让走", "violence"),
        ("对方说敢报警就撕票", "violence"),
        ("屋里一股很浓的煤气味", "fire"),
        ("他腿被钢筋扎穿了 血止不住", "medical"),
        ("孩子误吃了奶奶的降压药", "medical"),
        ("孩子把降压药吃了好几片 现在昏昏沉沉的", "medical"),
        ("在学校厕所被几个人围住了 现在还没放她走", "violence"),
        ("有个男的跟了我好几天 现在就在我家楼下不走", "violence"),
        ("老太太摔倒了 后脑勺磕地上流血了 叫她没反应", "medical"),
        ("孩子把硬币吞下去了", "medical"),
        ("我爸突然倒了 嘴歪了", "medical"),
        ("他们把我关在屋里不让我回家", "violence"),
        ("一帮人正在踢我爸", "violence"),
        ("柴火垛点着了 火越烧越大", "fire"),
        ("被骗进传销了 有人看着我", "violence"),
        ("燃气管子被挖断了 呲呲往外冒气", "fire"),
        ("我爸说话不利索 脸歪了", "medical"),
        ("娃被开水烫了 起泡了", "medical"),
    ],
)
def test_held_kidnapped_kicked_doors_gas_smell_and_bleeding_are_emergencies(text, kind):
    found = lexicon.emergency_match(lexicon.normalize(text))
    assert found is not None and found[0] == kind
