"""Passwords, tokens, the anonymiser and the input limits, below the routes."""

from __future__ import annotations

import pytest

from api import security
from api.anonymise import Anonymiser, anonymise
from api.limits import RateLimiter


def test_production_password_hashing_is_argon2id_at_the_standard_cost(monkeypatch):
    monkeypatch.setattr(security, "_hasher", None)
    hashed = security.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert security.verify_password(hashed, "correct horse battery")
    assert not security.verify_password(hashed, "correct horse batterY")
    assert not security.verify_password(
        None, "anything"
    )  # unknown user: checked against a dummy, still False
    assert not security.verify_password("not a hash", "x")
    assert not security.needs_rehash(hashed)


def test_tokens_are_long_random_and_stored_hashed():
    a, b = security.new_token(), security.new_token()
    assert a != b and len(a) >= 40
    assert security.token_matches(a, security.hash_token(a))
    assert not security.token_matches(b, security.hash_token(a))
    assert not security.token_matches(None, security.hash_token(a))
    assert len(security.new_conversation_id()) == 32


def test_rate_limiter_window():
    now = [0.0]
    limiter = RateLimiter(3, 60, clock=lambda: now[0])
    assert [limiter.hit("c") for _ in range(3)] == [0, 0, 0]
    assert limiter.hit("c") == pytest.approx(60)
    assert limiter.hit("other") == 0
    now[0] = 30
    assert limiter.blocked_for("c") == pytest.approx(30)
    now[0] = 60.5
    assert limiter.hit("c") == 0
    limiter.reset("c")
    assert limiter.blocked_for("c") == 0


@pytest.mark.parametrize(
    ("text", "gone", "kept"),
    [
        (
            "我叫张伟，电话13812345678，身份证330602198001011234。",
            ["张伟", "13812345678", "330602198001011234"],
            ["[电话]", "[身份证号]"],
        ),
        ("住在绍兴市越城区人民路88号3幢2单元501室", ["人民路88号", "3幢", "501室"], ["[地址]"]),
        (
            "老板王建国拖欠工资，对方老张说下个月给，钱大妈作证。",
            ["王建国", "老张", "钱大妈"],
            ["拖欠工资", "下个月给"],
        ),
        (
            "座机0575-88123456，邮箱zhang.wei@example.com，微信号abc12345，银行卡6222021234567890123",
            ["88123456", "zhang.wei@example.com", "abc12345", "6222021234567890123"],
            ["[邮箱]", "[银行卡号]"],
        ),
        ("家住枫桥镇陈家村3组，幸福小区的物业不管", ["枫桥镇", "陈家村", "幸福小区"], ["物业不管"]),
        ("老板拖欠我三个月工资怎么办", [], ["老板拖欠我三个月工资怎么办"]),
        (
            "楼上漏水把我家泡了，小孩上学怎么办，工资钱还没给",
            [],
            ["楼上漏水把我家泡了，小孩上学怎么办，工资钱还没给"],
        ),
    ],
)
def test_anonymiser_removes_identifiers_and_keeps_the_story(text, gone, kept):
    out = anonymise(text)
    for secret in gone:
        assert secret not in out, out
    for piece in kept:
        assert piece in out, out


def test_anonymiser_labels_each_person_consistently_across_texts():
    anon = Anonymiser()
    anon.learn(["申请人李小红说王建国欠她工资", "协议：王建国向李小红支付5000元"])
    first = anon("申请人李小红说王建国欠她工资")
    second = anon("协议：王建国向李小红支付5000元")
    assert "李小红" not in first + second and "王建国" not in first + second
    label_li, label_wang = anon.labels["李小红"], anon.labels["王建国"]
    assert label_li != label_wang
    assert second == f"协议：{label_wang}向{label_li}支付5000元"


def test_anonymiser_removes_names_given_explicitly():
    assert "欧阳娜娜" not in Anonymiser(extra_names=["欧阳娜娜"])("调解员欧阳娜娜主持调解")
