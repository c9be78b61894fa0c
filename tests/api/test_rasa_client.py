from api.rasa_client import merge_rasa_messages


def test_custom_citations_attach_to_the_text_before():
    replies = merge_rasa_messages([
        {"recipient_id": "x", "text": "答复"},
        {"recipient_id": "x", "custom": {"citations": [{"kind": "statute", "text": "t"}]}},
        {"recipient_id": "x", "text": "还有别的问题吗？", "buttons": [{"title": "是", "payload": "/affirm"}]},
    ])
    assert [(r.text, len(r.citations), r.buttons) for r in replies] == [
        ("答复", 1, []), ("还有别的问题吗？", 0, [{"title": "是", "payload": "/affirm"}])]


def test_custom_only_message_and_junk():
    replies = merge_rasa_messages([{"custom": {"text": "卡片", "handoff": {"reason": "x"}}}, {"image": "u"},
                                   {"custom": "not a dict"}])
    assert len(replies) == 1
    assert replies[0].text == "卡片" and replies[0].custom == {"handoff": {"reason": "x"}}
