"""The mediator console and the resident widget together, live, against the real gateway with a scripted bot."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.api.conftest import CITED_ANSWER, handoff_answer
from tests.browser.conftest import DESKTOP, MEDIATOR_PASSWORD, PHONE, new_page, save_screenshot, transcript

pytestmark = pytest.mark.browser


def log_in(page, url, username, password=MEDIATOR_PASSWORD):
    page.goto(url + "/console")
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("#login-form button[type=submit]")


def urgent_conversation(url: str, rasa) -> str:
    """Another resident, handed off by the bot as an emergency (through the API)."""
    conv = httpx.post(f"{url}/api/conversations", json={}).json()
    answers, rasa.answers = (
        rasa.answers,
        handoff_answer(
            priority="urgent",
            reason="emergency",
            dispute_type="家庭纠纷",
            summary="紧急情况（家庭暴力）：居民说“他要打我”。",
        ),
    )
    httpx.post(
        f"{url}/api/conversations/{conv['conversation_id']}/messages",
        json={"text": "他要打我"},
        headers={"Authorization": f"Bearer {conv['token']}"},
        timeout=10,
    ).raise_for_status()
    rasa.answers = answers
    return conv["conversation_id"]


def test_queue_claim_live_chat_citation_and_hand_back(browser, gateway, artifacts):
    gateway.mediator("wang", "王调解员")
    rasa = gateway.rasa
    resident_ctx, resident = new_page(browser, PHONE)
    resident.goto(gateway.url + "/")
    rasa.answers = CITED_ANSWER
    resident.fill("#text", "老板拖欠我三个月工资怎么办")
    resident.press("#text", "Enter")
    expect(resident.locator('.card[data-kind="statute"]')).to_have_count(1)

    resident.click("#ask-mediator")
    expect(resident.locator("#banner")).to_contain_text("您排在第 1 位")
    urgent_conversation(gateway.url, rasa)
    # An emergency came in after this resident: the place in the queue changes live.
    expect(resident.locator("#banner")).to_contain_text("您排在第 2 位")

    console_ctx, console = new_page(browser, DESKTOP)
    log_in(console, gateway.url, "wang")
    expect(console.locator("#whoami")).to_have_text("王调解员")
    items = console.locator("#queue-list .queue-item")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_have_attribute("data-priority", "urgent")
    expect(items.nth(0).locator(".pri")).to_have_text("紧急")
    expect(items.nth(1)).to_contain_text("居民要求转人工")
    expect(items.nth(1)).to_contain_text("老板拖欠我三个月工资怎么办")

    items.nth(1).click()
    expect(console.locator("#chat-summary")).to_contain_text("居民直接申请人工调解")
    transcript_box = console.locator("#transcript")
    expect(transcript_box.locator(".msg.bot").first).to_contain_text("根据检索到的法律规定")  # the bot's part
    expect(console.locator("#bot-citations .cite-title")).to_have_text(["《中华人民共和国劳动法》第五十条"])
    console.click("#claim")
    expect(console.locator("#release")).to_be_visible()
    expect(resident.locator("#banner")).to_contain_text("人民调解员 王调解员 已接入对话")
    expect(resident.locator("#mode-label")).to_have_text("人民调解员 王调解员为您服务")

    # Canned reply, live to the resident.
    console.select_option("#canned", index=1)
    expect(console.locator("#reply-text")).to_have_value(
        "您好，我是人民调解员，已经看过您和智能助手的对话，接下来由我为您服务。"
    )
    console.press("#reply-text", "Enter")
    mediator_row = resident.locator(".row.mediator").last
    expect(mediator_row.locator(".bubble")).to_have_text(
        "您好，我是人民调解员，已经看过您和智能助手的对话，接下来由我为您服务。"
    )
    expect(mediator_row.locator(".who")).to_have_text("人民调解员 王调解员")

    # The resident answers; the console sees it at once (and the resident typing before).
    resident.fill("#text", "我有工资条和考勤记录")
    resident.press("#text", "Enter")
    expect(transcript_box.locator(".msg.resident").last).to_contain_text("我有工资条和考勤记录")
    assert all("工资条" not in c[1] for c in rasa.calls)  # never to the bot

    # Search the statutes, insert one: the resident gets it as a card.
    console.fill("#search-q", "拖欠工资")
    console.click("#search-form button")
    first_hit = console.locator("#search-results .cite").first
    expect(first_hit.locator(".cite-title")).to_have_text("《中华人民共和国劳动法》第五十条")
    first_hit.locator("button", has_text="插入").click()
    expect(console.locator("#attached .att")).to_have_count(1)
    expect(console.locator("#reply-text")).to_have_value(
        "《中华人民共和国劳动法》第五十条规定：工资应当以货币形式按月支付给劳动者本人。"
        "不得克扣或者无故拖欠劳动者的工资。"
    )
    console.press("#reply-text", "Enter")
    expect(resident.locator(".row.mediator .card .card-title").last).to_have_text(
        "《中华人民共和国劳动法》第五十条"
    )
    save_screenshot(console, artifacts, "console-live-chat.png")
    save_screenshot(resident, artifacts, "widget-360-mediator.png")

    # Hand back: the resident sees the mediator leave, and the bot answers again.
    console.once("dialog", lambda d: d.accept())
    console.click("#release")
    expect(resident.locator("#banner")).to_contain_text("调解员已离开对话")
    expect(resident.locator("#mode-label")).to_have_text("智能助手为您服务")
    assert rasa.events[-1][1] == {"event": "resume"}
    rasa.answers = [{"text": "加班费按照劳动法第四十四条计算。"}]
    resident.fill("#text", "加班费怎么算")
    resident.press("#text", "Enter")
    expect(resident.locator(".row.bot .bubble").last).to_have_text("加班费按照劳动法第四十四条计算。")
    modes = [
        m["event"]["mode"]["to"]
        for m in transcript(gateway.url, resident)["messages"]
        if m.get("event") and "mode" in m["event"]
    ]
    assert modes == ["waiting", "mediator", "bot"]
    resident_ctx.close()
    console_ctx.close()


def test_close_with_the_outcome_form(browser, gateway):
    gateway.mediator("wang", "王调解员")
    cid = urgent_conversation(gateway.url, gateway.rasa)
    context, console = new_page(browser, DESKTOP)
    log_in(console, gateway.url, "wang")
    console.locator("#queue-list .queue-item").first.click()
    console.click("#claim")
    console.click("#close-case")
    console.select_option("#close-outcome", "部分达成")
    console.fill("#close-summary", "双方同意分居，由社区持续回访。")
    console.fill("#close-follow-up", "2026-03-01")
    console.fill("#close-facts", "夫妻因家务琐事多次争吵，妻子申请调解。联系电话13912345678。")
    console.click("#close-submit")
    expect(console.locator("#close-dialog")).not_to_be_visible()
    expect(console.locator("#chat-sub")).to_contain_text("已结束")
    # The anonymised preview for review: the phone number is gone; review can wait.
    expect(console.locator("#precedent-dialog")).to_be_visible()
    expect(console.locator("#precedent-facts")).to_have_value(
        "夫妻因家务琐事多次争吵，妻子申请调解。联系电话[电话]。"
    )
    console.click("#precedent-later")
    expect(console.locator("#precedent-dialog")).to_be_hidden()
    expect(console.locator("#review-precedent")).to_be_visible()
    console.click('.tab[data-tab="closed"]')
    expect(console.locator("#queue-list .queue-item").first).to_contain_text("部分达成")
    with gateway.app.state.db.sessions() as s:
        from api.models import Handoff

        h = s.query(Handoff).filter_by(conversation_id=cid).one()
        assert (h.status, h.outcome, str(h.follow_up_date)) == ("closed", "部分达成", "2026-03-01")
    context.close()


def test_login_errors_and_expiry(browser, gateway):
    gateway.mediator("wang", "王调解员")
    context, console = new_page(browser, DESKTOP)
    log_in(console, gateway.url, "wang", "wrong-password")
    expect(console.locator("#login-error")).to_have_text("用户名或密码错误。")
    log_in(console, gateway.url, "wang")
    expect(console.locator("#main-view")).to_be_visible()
    # The token expires: the next call sends the mediator back to the login form.
    from sqlalchemy import update

    from api.models import MediatorSession, utcnow

    with gateway.app.state.db.sessions() as s:
        s.execute(update(MediatorSession).values(expires_at=utcnow()))
        s.commit()
    console.reload()
    expect(console.locator("#login-view")).to_be_visible()
    expect(console.locator("#login-error")).to_have_text("登录已过期，请重新登录。")
    context.close()
