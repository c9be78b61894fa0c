"""The resident widget in Chromium against the real gateway, with a scripted bot."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from api.models import Conversation, utcnow
from tests.api.conftest import handoff_answer
from tests.browser.conftest import DESKTOP, PHONE, new_page, save_screenshot, transcript

pytestmark = pytest.mark.browser

ANSWER = [
    {"text": "根据《中华人民共和国劳动法》第五十条，工资应当按月支付给劳动者本人。"},
    {
        "custom": {
            "citations": [
                {
                    "kind": "statute",
                    "id": "a1-50",
                    "law": "中华人民共和国劳动法",
                    "article_no": "第五十条",
                    "text": "工资应当以货币形式按月支付给劳动者本人。不得克扣或者无故拖欠劳动者的工资。" * 2,
                    "status": "现行有效",
                    "score": 9.1,
                },
                {
                    "kind": "statute",
                    "id": "x",
                    "law": "某旧条例",
                    "article_no": "第三条",
                    "text": "旧的规定。",
                    "status": "已废止",
                    "score": 3.0,
                },
            ]
        }
    },
    {"text": "类似的纠纷是这样处理的："},
    {
        "custom": {
            "citations": [
                {
                    "kind": "precedent",
                    "id": "case-1",
                    "title": "加班费的仲裁时效应当如何认定",
                    "outcome": "支持张某的加班费请求。",
                    "text": "张某在建筑公司工作期间存在加班情形。",
                    "score": 2.0,
                }
            ]
        }
    },
    {
        "text": "您还可以：",
        "buttons": [
            {"title": "申请调解", "payload": "/request_mediation"},
            {"title": "怎么申请仲裁", "payload": "怎么申请劳动仲裁"},
        ],
    },
]


def ask(page, text):
    page.fill("#text", text)
    page.press("#text", "Enter")


def test_question_gets_citation_and_precedent_cards_and_quick_replies(browser, gateway, artifacts):
    gateway.rasa.answers = ANSWER
    context, page = new_page(browser, PHONE)
    page.goto(gateway.url + "/")
    expect(page.locator(".row.bot .bubble").first).to_contain_text("枫桥法律助手")
    ask(page, "老板拖欠我三个月工资怎么办")
    statute = page.locator('.card[data-kind="statute"]').first
    expect(statute).to_contain_text("《中华人民共和国劳动法》第五十条")
    expect(statute.locator(".badge")).to_have_text("现行有效")
    expect(page.locator('.card[data-kind="statute"] .badge.warn')).to_have_text("已废止")
    precedent = page.locator('.card[data-kind="precedent"]')
    expect(precedent).to_contain_text("加班费的仲裁时效应当如何认定")
    expect(precedent).to_contain_text("结果：支持张某的加班费请求。")
    # The long article is collapsed, and opens.
    toggle = statute.locator(".card-toggle")
    expect(toggle).to_have_text("展开全文")
    toggle.click()
    expect(toggle).to_have_text("收起")
    expect(statute).not_to_have_class(re.compile("collapsed"))
    expect(page.locator("#typing")).to_be_hidden()  # the answer came: no "thinking" left over
    expect(page.locator("#closed")).to_be_hidden()
    # Bubbles have avatars and times.
    expect(page.locator(".row.resident .avatar")).to_have_count(1)
    expect(page.locator(".row.resident .meta").first).to_have_text(re.compile(r"^\d\d:\d\d$"))
    # The page fits a 360 px phone: nothing sticks out sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    save_screenshot(page, artifacts, "widget-360-citations.png")

    # A quick reply sends its payload as the resident's message and shows its title.
    gateway.rasa.answers = [{"text": "申请劳动仲裁要先准备材料。"}]
    page.locator(".quick button", has_text="怎么申请仲裁").click()
    expect(page.locator(".row.bot .bubble").last).to_have_text("申请劳动仲裁要先准备材料。")
    assert gateway.rasa.calls[-1][1] == "怎么申请劳动仲裁"
    expect(page.locator(".row.resident .bubble").last).to_have_text("怎么申请仲裁")
    context.close()


def test_everything_shown_is_escaped(browser, gateway):
    gateway.rasa.answers = [{"text": '<b>粗体</b><img src=x onerror="window.pwned=1">'}]
    context, page = new_page(browser, DESKTOP)
    page.goto(gateway.url + "/")
    evil = '<script>window.pwned=1</script><img src=x onerror="window.pwned=1">'
    ask(page, evil)
    expect(page.locator(".row.resident .bubble").last).to_have_text(evil)
    expect(page.locator(".row.bot .bubble").last).to_have_text(
        '<b>粗体</b><img src=x onerror="window.pwned=1">'
    )
    assert page.locator("#log img, #log script, #log b").count() == 0
    assert page.evaluate("window.pwned === undefined")
    context.close()


def test_large_font_toggle_is_remembered(browser, gateway):
    context, page = new_page(browser, PHONE)
    page.goto(gateway.url + "/")
    bubble = page.locator(".row.bot .bubble").first
    expect(bubble).to_be_visible()
    normal = float(bubble.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
    page.click("#font-toggle")
    expect(page.locator("#font-toggle")).to_have_attribute("aria-pressed", "true")
    large = float(bubble.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
    assert large >= normal * 1.2
    page.reload()
    expect(page.locator("#font-toggle")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    context.close()


def test_message_typed_offline_is_sent_once_when_the_network_returns(browser, gateway):
    gateway.rasa.answers = [{"text": "收到，我来查一下。"}]
    context, page = new_page(browser, PHONE)
    page.goto(gateway.url + "/")
    expect(page.locator(".row.bot")).to_have_count(1)
    page.wait_for_function("document.getElementById('net').hidden === true")
    context.set_offline(True)
    ask(page, "网络断了的时候发的消息")
    expect(page.locator(".row.resident .meta.failed")).to_have_text("未发送，联网后自动重发")
    pending = page.evaluate(
        "Object.keys(localStorage).filter(k => k.startsWith('fq-outbox-'))"
        ".map(k => JSON.parse(localStorage.getItem(k))).flat().length"
    )
    assert pending == 1
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator(".row.bot .bubble").last).to_have_text("收到，我来查一下。")
    expect(page.locator(".row.resident .meta.failed")).to_have_count(0)
    # A second resend of the same message id (as after a lost answer) changes nothing.
    page.reload()
    expect(page.locator(".row.resident")).to_have_count(1)
    data = transcript(gateway.url, page)
    assert [m["text"] for m in data["messages"] if m["sender"] == "resident"] == ["网络断了的时候发的消息"]
    assert [c[1] for c in gateway.rasa.calls] == ["网络断了的时候发的消息"]
    context.close()


def test_bot_down_offers_a_mediator_button_that_queues_the_resident(browser, gateway, artifacts):
    gateway.rasa.down = True
    context, page = new_page(browser, PHONE)
    page.goto(gateway.url + "/")
    ask(page, "借钱不还怎么办")
    expect(page.locator(".row.bot .bubble").last).to_contain_text("暂时无法回复")
    page.locator(".quick button", has_text="转人工调解员").click()
    banner = page.locator("#banner")
    expect(banner).to_contain_text("您排在第 1 位")
    expect(banner).to_contain_text("预计等待约 2 分钟")
    expect(page.locator("#mode-label")).to_have_text("等待人民调解员接入")
    expect(page.locator("#ask-mediator")).to_be_hidden()
    save_screenshot(page, artifacts, "widget-360-waiting.png")
    context.close()


def test_bot_handoff_payload_puts_the_resident_in_the_queue(browser, gateway):
    gateway.rasa.answers = handoff_answer(priority="urgent", reason="emergency")
    context, page = new_page(browser, PHONE)
    page.goto(gateway.url + "/")
    ask(page, "他要打我，我很害怕")
    expect(page.locator("#banner")).to_contain_text("您排在第 1 位")
    expect(page.locator(".row.system .system-note").last).to_contain_text("排在第 1 位")
    # While waiting, nothing more goes to the bot.
    calls = len(gateway.rasa.calls)
    ask(page, "快点来人")
    expect(page.locator(".row.resident .meta").last).to_have_text(re.compile(r"^\d\d:\d\d$"))
    assert len(gateway.rasa.calls) == calls
    context.close()


def test_message_typed_before_the_conversation_exists_is_sent(browser, gateway):
    gateway.rasa.answers = [{"text": "您好，请说。"}]
    context, page = new_page(browser, PHONE)
    held = []
    page.route("**/api/conversations", lambda route: held.append(route))  # hold the create request
    page.goto(gateway.url + "/")
    ask(page, "一打开就发的消息")
    expect(page.locator(".row.resident.pending")).to_have_count(1)
    assert len(held) == 1
    held[0].continue_()
    expect(page.locator(".row.bot .bubble").last).to_have_text("您好，请说。")
    assert [c[1] for c in gateway.rasa.calls] == ["一打开就发的消息"]
    context.close()


def _expire(gateway, conversation_id: str) -> None:
    """The conversation has been idle for longer than resident_token_idle_s."""
    with gateway.app.state.db.sessions() as s:
        s.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(last_active_at=utcnow() - dt.timedelta(days=30))
        )
        s.commit()


def test_an_expired_conversation_is_replaced_and_keeps_what_was_not_sent(browser, gateway):
    """Tried: a message sent after the conversation expired (401), with more text typed in the box; then a reload
    after the new conversation expired too (401 on the first read)."""
    gateway.rasa.answers = [{"text": "您好，请说。"}]
    context, page = new_page(browser, PHONE)
    page.goto(gateway.url + "/")
    expect(page.locator(".row.bot")).to_have_count(1)
    old = page.evaluate("JSON.parse(localStorage.getItem('fq-conversation'))")
    _expire(gateway, old["conversation_id"])
    ask(page, "过了很久才发的消息")
    page.fill("#text", "还没发的草稿")
    expect(page.locator(".row.system .system-note")).to_have_text(re.compile("上次的咨询已经过期"))
    expect(page.locator(".row.system")).to_have_count(1)
    expect(page.locator(".row.bot .bubble").last).to_have_text("您好，请说。")
    expect(page.locator(".row.resident .bubble")).to_have_text(["过了很久才发的消息"])
    expect(page.locator(".row.resident .meta").last).to_have_text(re.compile(r"^\d\d:\d\d$"))
    expect(page.locator("#text")).to_have_value("还没发的草稿")
    new = page.evaluate("JSON.parse(localStorage.getItem('fq-conversation'))")
    assert new["conversation_id"] != old["conversation_id"]
    data = transcript(gateway.url, page)
    assert [m["text"] for m in data["messages"] if m["sender"] == "resident"] == ["过了很久才发的消息"]
    assert [c[0] for c in gateway.rasa.calls] == [new["conversation_id"]]
    _expire(gateway, new["conversation_id"])
    page.reload()
    expect(page.locator(".row.system .system-note")).to_have_text(re.compile("上次的咨询已经过期"))
    page.wait_for_function(
        f"JSON.parse(localStorage.getItem('fq-conversation')).conversation_id !== '{new['conversation_id']}'"
    )
    context.close()
