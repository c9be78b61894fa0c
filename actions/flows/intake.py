"""The mediation request (intake_form): at most three questions, then the mediators' queue.

- What the request itself says counts: the facts (the request words cut out), the other party, an amount, a phone
  number; so does what the resident said about the dispute just before asking. An answer fills whatever else it
  carries too ("楼上漏水泡坏了我家吊顶，修要三千块" gives the facts and the amount).
- Only what is still missing is asked, most needed first (facts, other party, contact; then amount, outcome),
  at most three different questions; what was not asked is listed for the mediator.
- Answers are checked: an amount must read as a sum of money, a phone number as a Chinese mobile or landline
  number, the other party must not be a number. An unusable answer is explained and asked again once, then kept
  as said, marked unconfirmed.
- "不知道", "跳过", "不方便说" skip a question; "不对，是三万" corrects an earlier answer (the one the correction
  is about: a sum corrects the amount, a phone number the contact, "对方是…" the party, otherwise the last answer).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import disputes
from actions.conversation import (
    is_payload,
    latest_entity,
    latest_text,
    recent_user_texts,
    requested_slots_since,
    user_turns,
)
from actions.flows.common import (
    PRIORITY_NORMAL,
    cjk_len,
    dispute_type,
    facts_besides_request,
    handoff_payload,
    message_text,
    pause_events,
    quote,
    region,
    request_words,
    suggested_citations,
)
from bot.components import handoff, lexicon
from core.contracts import HandoffReason

INTAKE_SLOTS = (
    "case_facts",
    "case_party",
    "case_amount",
    "case_outcome",
    "case_contact",
)  # the order asked in
PRIORITY = ("case_facts", "case_party", "case_contact", "case_amount", "case_outcome")  # which to ask
MAX_QUESTIONS = 3
MAX_ANSWERS = 2  # typed answers to one question before an unusable one is kept as said
INTAKE_LABELS = {
    "case_facts": "事情经过",
    "case_party": "对方",
    "case_amount": "涉及金额",
    "case_outcome": "希望的结果",
    "case_contact": "联系方式",
}
START_ACTION = "action_start_intake"

NOT_SAID = "未说明"
NO_AMOUNT = "不涉及"
NO_PHONE = "未留电话（在本对话中联系）"

INTAKE_INTRO = (
    "好的，我帮您把调解申请转给人民调解员，先问最多三个简单的问题；不清楚或不想说的可以说“跳过”，"
    "随时可以说“算了”取消。"
)
INTAKE_FACTS_NOTED = "您刚才说的情况我已经记下了。"
INTAKE_DONE = "正在转给人民调解员，请稍等；调解员接入后会在这里和您联系。"
# Registering here is not yet acceptance by a mediation committee, and the other side may refuse (人民调解法 §17).
INTAKE_CAVEAT = (
    "提醒：是否受理由人民调解委员会决定；人民调解要双方自愿，对方不同意或者调解不成，还可以申请仲裁或者向法院"
    "起诉。调解期间请留意仲裁、诉讼时效，调解不成要尽快申请。"
)
# 劳动争议调解仲裁法 §14 ¶3.
LABOUR_CAVEAT = "劳动争议：调解组织收到调解申请之日起15日内没有达成调解协议的，可以申请劳动仲裁。"
PROBLEMS = {
    "case_facts": "请用几句话说说发生了什么事，比如“邻居家漏水把我家天花板泡坏了，他不肯赔”。",
    "case_party": "请说说对方是谁，比如“隔壁邻居王某”“某某公司”“房东”；不清楚可以说“跳过”。",
    "case_amount": "我没听出金额。请说一个数，比如“三千元”“两万”；不涉及钱说“没有”，不清楚说“不知道”。",
    "case_outcome": "请说说您希望怎么解决，比如“赔偿损失”“道个歉”；还没想好可以说“跳过”。",
    "case_contact": "这个号码好像不对：手机号是1开头的11位数字，座机请带区号（比如0575-88123456）。不方便留就说“不留”。",
}
CORRECTED = "好的，已改为“{label}：{value}”。"
CORRECTION_UNCLEAR = "好的。请直接说要改成什么，比如“金额是三万”“对方是李某”。"

# Intents under which a message is not an answer to the question asked (the form is interrupted).
_NOT_ANSWERS = {
    "emergency",
    "request_human",
    "cancel",
    "goodbye",
    "greet",
    "thank",
    "ask_capabilities",
    "out_of_scope",
}
_LEGAL_INTENTS = {"ask_legal_question", "vague_question"}

# The words of a request for mediation: what is left of a clause without them is what it says about the dispute.
_MEDIATION_WORDS_RE = re.compile(
    r"我|要|想|申请|人民|调解员|调解|调委会|帮我|帮忙|帮|能不能|能|可以|可不可以|一下|吗|呢|吧|请|你们|麻烦|登记|"
    r"找人|找|给|出面|我们|说和|协调|评评理|评理|处理|怎么|办|弄|行不行|下|[\W_]"
)

_SKIP_RE = re.compile(
    r"^(?:这个|这|那个|我)?(?:也|真|确实|实在)?(?:不知道|不清楚|不晓得|不记得了?|记不清了?|说不清楚?|说不好|没想好|还没想好|"
    r"跳过|下一个|下一题|不方便说|不方便讲|不方便透露|不便透露|不想说|不想透露|保密|暂时保密|先不说|略过?|pass|skip)"
    r"(?:吧|了|啊|呢|这个|这题|这个问题)*$",
    re.IGNORECASE,
)
_NO_AMOUNT_RE = re.compile(r"^(没有|没|无|不涉及|没钱|不是钱的事|跟钱没关系|和钱没关系|一分钱没有|0|零)")
_NO_CONTACT_RE = re.compile(r"不留|不方便|不想留|不给|不要|没有|没手机|就在这|在这里联系|网上联系")
_CORRECTION_RE = re.compile(
    r"^(?:不对不对|不对|不是不是|错了|说错了|我说错了|刚才说错了|刚才说的不对|搞错了|写错了|打错了|哦不|啊不|更正一下|更正|"
    r"纠正一下|纠正|改一下|改成|改为|应该是)[，,。.!！：:\s]*"
)
_NOT_THIS_RE = re.compile(r"^不是[^，,。]{1,10}[，,\s]+")
_PARTY_WORDS_RE = re.compile(
    r"对方|他们?是|她是|人是|公司是|^是?(?:我|我们)?(?:的)?(?:邻居|老板|房东|物业|公司|前夫|前妻)"
)
_OUTCOME_WORDS_RE = re.compile(r"希望|想要|要求|让他|让她|让对方|赔偿|道歉|解决")
_LEADING_IS_RE = re.compile(r"^(?:应该|其实|实际上)?(?:是|为|改成|改为)")

_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
_LETTER_RE = re.compile(r"[\u4e00-\u9fffA-Za-z]")

# --------------------------------------------------------------------------------------------------
# Reading an answer


_AMOUNT_PREFIX_RE = re.compile(
    r"^(?:金额|钱数|钱|数目|一共|总共|大概|大约|差不多|约|将近|快|估计|可能|有|是|为|要|欠|共)+"
)
_BARE_AMOUNT_RE = re.compile(r"[\d.,零〇一二两俩三四五六七八九十百千万亿]+(?:元|块|块钱|万元|万块)?")
_AMOUNT_SUFFIX_RE = re.compile(r"(?:人民币|块钱|块|元|钱|多|来|余|左右|上下|的样子|吧|啊|呢|了)+$")


def chinese_number(text: str) -> float | None:
    """'三万五' → 35000, '俩万' → 20000, '3万5' → 35000: the NLU's own reading of Chinese numbers (one parser for
    the bot and the intake), with 俩 counted as two."""
    return lexicon.chinese_number((text or "").replace("俩", "两"))


def amount_of(text: str) -> int | None:
    """The sum of money a short answer names, in yuan ('大概三千块' → 3000, '2万' → 20000), or None."""
    t = unicodedata.normalize("NFKC", text or "").strip()
    t = re.sub(r"(?<=\d),(?=\d{3})", "", t).replace(" ", "")
    t = re.sub(r"[。.！!，,~～]+$", "", t)
    t = _AMOUNT_PREFIX_RE.sub("", t)
    t = _AMOUNT_SUFFIX_RE.sub("", t)
    t = re.sub(r"(万|千)(?:元|块)$", r"\1", t)
    value = chinese_number(t)
    return int(round(value)) if value else None


_CN_PHONE_RUN_RE = re.compile(r"[零〇一二三四五六七八九幺]{7,}")
_PHONE_DIGITS = str.maketrans("零〇一二三四五六七八九幺", "001234567891")
_MOBILE_RE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
_LANDLINE_RE = re.compile(r"(?<!\d)(0\d{2,3})[-—]?(\d{7,8})(?!\d)")


def phone_of(text: str) -> str | None:
    """A Chinese mobile (1[3-9] + 9 digits) or landline (0 + area code + 7–8 digits) number in the text, however
    spaced or written in Chinese digits; None if there is none."""
    t = unicodedata.normalize("NFKC", text or "")
    t = _CN_PHONE_RUN_RE.sub(lambda m: m.group(0).translate(_PHONE_DIGITS), t)
    t = re.sub(r"(?<=\d)[\s]+(?=\d)", "", t)
    m = _LANDLINE_RE.search(t)
    if m:
        return f"{m.group(1)}-{m.group(2)}"
    m = _MOBILE_RE.search(re.sub(r"(?<=\d)[-—](?=\d)", "", t))
    return m.group(1) if m else None


def is_skip(text: str) -> bool:
    """'不知道', '跳过', '不方便说', '这个不清楚'."""
    return bool(_SKIP_RE.match(re.sub(r"[\s。.！!，,~～？?]+", "", text or "")))


def correction(text: str) -> str | None:
    """What a correction says instead ('不对，是三万' → '三万'; '不是两万，是三万' → '三万'), or None."""
    text = (text or "").strip()
    m = _CORRECTION_RE.match(text) or _NOT_THIS_RE.match(text)
    if not m:
        return None
    rest = _LEADING_IS_RE.sub("", text[m.end() :].strip()).strip(" ，,。.")
    return rest


def dispute_description(text: str, words: str | None = None) -> str | None:
    """What a request for mediation says about the dispute, without the request ("楼上漏水不赔，帮我调解" →
    "楼上漏水不赔"), or None when it says nothing more than 'I want mediation'."""
    return facts_besides_request(text, words, _MEDIATION_WORDS_RE) or None


def intake_lines(tracker: Tracker) -> list[str]:
    return [f"{INTAKE_LABELS[s]}：{tracker.get_slot(s)}" for s in INTAKE_SLOTS if tracker.get_slot(s)]


# --------------------------------------------------------------------------------------------------
# Checking an answer: (value, problem); the problem is what to tell the resident when the value is None.


# Each takes the answer as the NLU read it (Simplified, NFKC: what is checked), the answer as typed (what is kept)
# and the amount the NLU found in the message.


def _clean_facts(text: str, raw: str, amount: int | None) -> tuple[str | None, str | None]:
    if amount_of(text) is not None or cjk_len(text) < 4:
        return None, PROBLEMS["case_facts"]
    return quote(raw, 300), None


def _clean_party(text: str, raw: str, amount: int | None) -> tuple[str | None, str | None]:
    if phone_of(text) or amount_of(text) is not None or not _LETTER_RE.search(text):
        return None, PROBLEMS["case_party"]
    return quote(raw, 50), None


def _clean_amount(text: str, raw: str, amount: int | None) -> tuple[str | None, str | None]:
    if _NO_AMOUNT_RE.match(text):
        return NO_AMOUNT, None
    value = amount_of(text)
    if value is None and amount is not None and not phone_of(text) and cjk_len(text) <= 12:
        value = int(amount)  # the NLU's reading of a longer answer ("他欠我一万二，还有利息")
    if value is None:
        return None, PROBLEMS["case_amount"]
    bare = _BARE_AMOUNT_RE.fullmatch(text.replace(" ", ""))
    return (f"{value}元" if bare else f"{value}元（原话：{quote(raw, 40)}）"), None


def _clean_outcome(text: str, raw: str, amount: int | None) -> tuple[str | None, str | None]:
    if not _LETTER_RE.search(text) or (phone_of(text) and cjk_len(text) < 4):
        return None, PROBLEMS["case_outcome"]
    return quote(raw, 120), None


def _clean_contact(text: str, raw: str, amount: int | None) -> tuple[str | None, str | None]:
    phone = phone_of(text)
    if phone:
        return phone, None
    if _NO_CONTACT_RE.search(text):
        return NO_PHONE, None
    if re.search(r"微信|vx|VX|wx|邮箱|@", text) and re.search(r"[A-Za-z0-9_\-]{5,}", text):
        return quote(raw, 60), None
    return None, PROBLEMS["case_contact"]


CLEAN = {
    "case_facts": _clean_facts,
    "case_party": _clean_party,
    "case_amount": _clean_amount,
    "case_outcome": _clean_outcome,
    "case_contact": _clean_contact,
}

# A question in the middle of the intake ("鼻梁骨折算不算轻伤 能不能追究他刑事责任" to "涉及多少钱？") is answered,
# then the intake's question is asked again; it is not counted as an answer. An answer that reads as one (an amount,
# a phone number) is taken as the answer, question or not. The facts are never interrupted: an account of the dispute
# often ends in a question, and it is what the mediator needs. "能不能让他赔钱" to "您希望怎么解决？" is an outcome:
# for the free-text answers (the other party, the outcome) only a plain question counts (吗, 怎么办, 算不算 …).
_ASKS_RE = re.compile(
    r"[吗么呢嘛][？?。！!]*$|[？?]|怎么办|咋办|咋弄|怎么弄|怎么算|算不算|是不是|属不属于|多少钱|赔多少|多久|多长时间|去哪|找谁"
    r"|谁(来)?(赔|负责|管|出)|要不要|该不该|有没有(用|办法|责任|权)"
)
_ASKS_LOOSELY_RE = re.compile(r"能不能|可不可以|能否|有没有|可以.{0,12}吗")
_WORKS_RE = re.compile(r"(管用|有用|有效|行|可以|算数|好使)不[？?。]*$|(管用|有用|有效|算数)吗")
MIN_QUESTION_CHARS = 6


def interrupting_question(slot: str | None, text: str) -> bool:
    """The message asks a legal question instead of answering the intake's question for `slot`."""
    if slot not in CLEAN or slot == "case_facts" or not text or is_payload(text):
        return False
    if is_skip(text) or correction(text) is not None or cjk_len(text) < MIN_QUESTION_CHARS:
        return False
    if slot in ("case_amount", "case_contact"):
        # "大概三千块 能要回来吗": a clause that reads as the answer makes the message an answer
        if any(CLEAN[slot](part, part, None)[0] is not None for part in (text, *handoff.clauses(text))):
            return False
        return bool(_ASKS_RE.search(text) or _ASKS_LOOSELY_RE.search(text))
    return bool(_ASKS_RE.search(text))


SKIPPED = {
    "case_facts": NOT_SAID,
    "case_party": NOT_SAID,
    "case_amount": NOT_SAID,
    "case_outcome": NOT_SAID,
    "case_contact": NO_PHONE,
}


# --------------------------------------------------------------------------------------------------
# Reading the intake from the tracker


def _events_since_start(tracker: Tracker) -> list[dict]:
    events = list(tracker.events)
    for i in range(len(events) - 1, -1, -1):
        if events[i].get("event") == "action" and events[i].get("name") == START_ACTION:
            return events[i + 1 :]
    return events


def answers_to(tracker: Tracker, slot: str) -> int:
    """How many messages answered the question for `slot` (corrections and interruptions left out)."""
    requested, count = None, 0
    for event in _events_since_start(tracker):
        if event.get("event") == "slot" and event.get("name") == "requested_slot":
            requested = event.get("value")
        elif event.get("event") == "user" and requested == slot:
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            text = event.get("text") or ""
            if (
                intent not in _NOT_ANSWERS
                and correction(text) is None
                and not interrupting_question(slot, text)
            ):
                count += 1
    return count


def asked_in_order(tracker: Tracker) -> list[str]:
    """The intake questions asked so far, in the order first asked."""
    order: list[str] = []
    for event in _events_since_start(tracker):
        if (
            event.get("event") == "slot"
            and event.get("name") == "requested_slot"
            and event.get("value") in INTAKE_SLOTS
            and event["value"] not in order
        ):
            order.append(event["value"])
    return order


def intake_plan(tracker: Tracker) -> list[str]:
    """The questions of this intake, in the order asked: those already asked, and as many of the missing ones,
    most needed first, as keep the total at MAX_QUESTIONS."""
    asked = requested_slots_since(tracker, START_ACTION) & set(INTAKE_SLOTS)
    room = max(MAX_QUESTIONS - len(asked), 0)
    fresh = [s for s in PRIORITY if s not in asked and tracker.slots.get(s) is None][:room]
    return [s for s in INTAKE_SLOTS if s in asked or s in fresh]


def _typed(tracker: Tracker, value: Any) -> bool:
    """The value is the resident's message just now (not one the bot set from what was said before)."""
    text = latest_text(tracker)
    return bool(text) and not is_payload(text) and str(value).strip() == text


def _earlier_description(tracker: Tracker) -> tuple[str | None, list[dict]]:
    """What the resident said about the dispute just before asking for mediation (up to two questions) and the
    entities the NLU found in it."""
    texts: list[str] = []
    entities: list[dict] = []
    for event, _ in reversed(user_turns(tracker)[:-1]):
        parse = event.get("parse_data") or {}
        text = (event.get("text") or "").strip()
        if is_payload(text):
            continue
        if (parse.get("intent") or {}).get("name") not in _LEGAL_INTENTS or len(texts) == 2:
            break
        texts.insert(0, text)
        entities = list(parse.get("entities") or []) + entities
    return ("；".join(texts) or None), entities


def _entity(entities: list[dict], name: str) -> Any | None:
    return next((e.get("value") for e in entities if e.get("entity") == name), None)


def answer_question(dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
    """Answer the legal question of the latest message; keep what the answer records of the conversation (its
    type, its citations) as slot values, never the intake's own slots."""
    from actions.answer import MEDIATION_OFFER
    from actions.flows.answer import ActionAnswerLegalQuestion

    answer = CollectingDispatcher()
    events = ActionAnswerLegalQuestion().run(answer, tracker, {})
    for message in answer.messages:
        # The intake is under way: its offer of mediation, and the buttons for it, are not repeated.
        text = (message.get("text") or "").replace(MEDIATION_OFFER + "\n", "").replace(MEDIATION_OFFER, "")
        if message.get("buttons"):
            message = {k: v for k, v in message.items() if k != "buttons"}
        dispatcher.messages.append(message | {"text": text})
    return {
        e["name"]: e.get("value")
        for e in events
        if e.get("event") == "slot" and e.get("name") not in (*INTAKE_SLOTS, "requested_slot")
    }


def question_besides_request(text: str, words: str | None) -> bool:
    """The request for mediation comes with a question of its own ("村里能帮着调解吗 真要起诉得交多少钱",
    "能不能先找社区调解 调解了管用不"): what is left without the request words asks something."""
    rest = facts_besides_request(text, words, _MEDIATION_WORDS_RE) or ""
    return cjk_len(rest) >= 4 and bool(_ASKS_RE.search(rest) or _WORKS_RE.search(rest))


class ActionStartIntake(Action):
    """The resident wants mediation: start the intake with what the request (or what came just before) says."""

    def name(self) -> str:
        return START_ACTION

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = message_text(tracker)
        entities = list((tracker.latest_message or {}).get("entities") or []) if text else []
        facts = dispute_description(text, request_words(tracker)) if text else None
        if not facts:
            facts, earlier_entities = _earlier_description(tracker)
            entities += earlier_entities
        events: list[EventType] = [SlotSet(s, None) for s in INTAKE_SLOTS]
        prefill = {
            "case_facts": quote(facts, 300) if facts else None,
            "case_party": _entity(entities, "relationship"),
            "case_amount": f"{_entity(entities, 'amount')}元" if _entity(entities, "amount") else None,
            "case_contact": phone_of(text),
        }
        events += [SlotSet(s, v) for s, v in prefill.items() if v]
        kind = _entity(entities, "dispute_type")
        if disputes.get(kind) and kind != tracker.get_slot("dispute_type"):
            events.append(SlotSet("dispute_type", kind))
        if text and question_besides_request(text, request_words(tracker)):
            # Answer what was asked, then take the request.
            events += [
                SlotSet(k, v) for k, v in answer_question(dispatcher, tracker).items() if k != "dispute_type"
            ]
        dispatcher.utter_message(text=INTAKE_INTRO + (INTAKE_FACTS_NOTED if facts else ""))
        return events


class ValidateIntakeForm(FormValidationAction):
    """Asks only what is missing, at most three questions; checks, skips and corrections (see the module)."""

    def name(self) -> str:
        return "validate_intake_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        return intake_plan(tracker)

    def _validate(
        self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        if value is None:
            return {slot: None}
        if not _typed(tracker, value):
            return {slot: value}  # set by the bot from what was said before: already checked
        raw = str(value).strip()
        text = message_text(tracker) or raw  # as the NLU read it: Simplified, NFKC
        fixed = correction(text)
        if fixed is not None:
            target = self._correction_target(fixed, slot, tracker) if fixed else None
            if target != slot:
                return {slot: None} | self._correct(fixed, target, dispatcher, tracker)
            text = raw = fixed  # "不对，电话是139…" to the phone question is the answer
        if is_skip(text):
            return {slot: SKIPPED[slot]}
        if slot == tracker.get_slot("requested_slot") and interrupting_question(slot, text):
            return {slot: None} | answer_question(dispatcher, tracker)
        cleaned, problem = CLEAN[slot](text, raw, latest_entity(tracker, "amount"))
        if cleaned is None:
            if answers_to(tracker, slot) >= MAX_ANSWERS:
                return {slot: f"未确认（原话：{quote(text, 40)}）"}
            dispatcher.utter_message(text=problem)
            return {slot: None}
        return {slot: cleaned} | self._also_said(slot, text, tracker)

    @staticmethod
    def _also_said(slot: str, text: str, tracker: Tracker) -> dict[str, Any]:
        """Other missing answers the same message gives: an amount, a phone number, the other party (and the
        dispute type the facts name)."""
        found: dict[str, Any] = {}
        amount = latest_entity(tracker, "amount")
        if slot != "case_amount" and amount and tracker.get_slot("case_amount") is None:
            found["case_amount"] = f"{amount}元"
        phone = phone_of(text)
        if slot != "case_contact" and phone and tracker.get_slot("case_contact") is None:
            found["case_contact"] = phone
        party = latest_entity(tracker, "relationship")
        if slot == "case_facts" and party and tracker.get_slot("case_party") is None:
            found["case_party"] = party
        kind = latest_entity(tracker, "dispute_type")
        if slot == "case_facts" and disputes.get(kind) and kind != tracker.get_slot("dispute_type"):
            found["dispute_type"] = kind
        return found

    @staticmethod
    def _correction_target(rest: str, current: str, tracker: Tracker) -> str | None:
        if phone_of(rest):
            return "case_contact"
        if amount_of(rest) is not None or (latest_entity(tracker, "amount") and cjk_len(rest) <= 12):
            return "case_amount"
        if _PARTY_WORDS_RE.search(rest) or latest_entity(tracker, "relationship"):
            return "case_party"
        if _OUTCOME_WORDS_RE.search(rest):
            return "case_outcome"
        answered = [s for s in asked_in_order(tracker) if s != current and tracker.get_slot(s)]
        if answered:
            return answered[-1]
        return "case_facts" if tracker.get_slot("case_facts") else None

    @staticmethod
    def _correct(
        rest: str, target: str | None, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        if target is None:
            dispatcher.utter_message(text=CORRECTION_UNCLEAR)
            return {}
        if target == "case_facts":
            old = tracker.get_slot("case_facts")
            value: str | None = (
                f"{old}（更正：{quote(rest, 100)}）" if old and old != NOT_SAID else quote(rest, 300)
            )
        else:
            stripped = re.sub(r"^(?:对方|他|她|他们)(?:是|叫)", "", rest) if target == "case_party" else rest
            value, _problem = CLEAN[target](
                stripped or rest, stripped or rest, latest_entity(tracker, "amount")
            )
            if value is None:
                dispatcher.utter_message(text=CORRECTION_UNCLEAR)
                return {}
        dispatcher.utter_message(text=CORRECTED.format(label=INTAKE_LABELS[target], value=value))
        return {target: value}

    def validate_case_facts(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return self._validate("case_facts", value, dispatcher, tracker)

    def validate_case_party(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return self._validate("case_party", value, dispatcher, tracker)

    def validate_case_amount(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return self._validate("case_amount", value, dispatcher, tracker)

    def validate_case_outcome(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return self._validate("case_outcome", value, dispatcher, tracker)

    def validate_case_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return self._validate("case_contact", value, dispatcher, tracker)


class ActionSubmitIntake(Action):
    """The intake is complete: confirm what was recorded and hand off with that summary."""

    def name(self) -> str:
        return "action_submit_intake"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lines = intake_lines(tracker)
        not_asked = [INTAKE_LABELS[s] for s in INTAKE_SLOTS if not tracker.get_slot(s)]
        summary = (
            "调解申请。"
            + "；".join(lines)
            + "。"
            + (f"未问到：{'、'.join(not_asked)}。" if not_asked else "")
        )
        answers = {tracker.get_slot(s) for s in INTAKE_SLOTS}
        earlier = [t for t in recent_user_texts(tracker, 6, include_latest=True) if t not in answers]
        facts = tracker.get_slot("case_facts") or ""
        kind = dispute_type(tracker)
        payload = handoff_payload(
            reason=HandoffReason.MEDIATION_REQUEST,
            priority=PRIORITY_NORMAL,
            dispute_type=kind,
            summary=summary,
            suggested_citations=suggested_citations(
                tracker, " ".join([facts] + earlier[-2:]).strip() or None, region(tracker)
            ),
        )
        caveat = INTAKE_CAVEAT + (LABOUR_CAVEAT if kind == "劳动工资" else "")
        text = (
            "已记下您的调解申请：\n" + "\n".join(f"· {line}" for line in lines) + f"\n{INTAKE_DONE}\n{caveat}"
        )
        dispatcher.utter_message(text=text, json_message=payload)
        return pause_events(tracker)
