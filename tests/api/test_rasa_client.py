from api.rasa_client import merge_rasa_messages


def test_custom_citations_attach_to_the_text_before():
    replies = merge_rasa_messages(
        [
            {"recipient_id": "x", "text": "答复"},
            {"recipient_id": "x", "custom": {"citations": [{"kind": "statute", "text": "t"}]}},
            {
                "recipient_id": "x",
                "text": "还有别的问题吗？",
                "buttons": [{"title": "是", "payload": "/affirm"}],
            },
        ]
    )
    assert [(r.text, len(r.citations), r.buttons) for r in replies] == [
        ("答复", 1, []),
        ("还有别的问题吗？", 0, [{"title": "是", "payload": "/affirm"}]),
    ]


def test_custom_only_message_and_junk():
    replies = merge_rasa_messages(
        [{"custom": {"text": "卡片", "handoff": {"reason": "x"}}}, {"image": "u"}, {"custom": "not a dict"}]
    )
    assert len(replies) == 1
    assert replies[0].text == "卡片" and replies[0].custom == {"handoff": {"reason": "x"}}


# --------------------------------------------------------------------------------------------------------------
# The real client against a scripted Rasa HTTP server (httpx.MockTransport): lock errors, resume.

import asyncio  # noqa: E402
import json  # noqa: E402

import httpx  # noqa: E402
import pytest  # noqa: E402

from api.rasa_client import RasaClient, RasaUnavailable  # noqa: E402

LOCK_500 = {
    "version": "3.6.21",
    "status": "failure",
    "message": "An unexpected error occurred. Error: Could not acquire lock for conversation_id 'c1'.",
    "reason": "ConversationError",
    "code": 500,
}


def scripted(responses):
    """A transport answering each request with the next scripted (status, json) and recording the requests."""
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status, body = responses.pop(0) if responses else (500, {"message": "unexpected"})
        if callable(body):
            body = body(request)
        return httpx.Response(status, json=body)

    return seen, httpx.MockTransport(handler)


def client_for(transport) -> RasaClient:
    return RasaClient("http://rasa", "http://actions", 5, transport=transport, async_transport=transport)


def send(client: RasaClient, conversation_id: str, text: str):
    """The resident path is async (the gateway holds no thread while Rasa thinks)."""
    return asyncio.run(client.send(conversation_id, text))


def test_lock_error_is_retried_once():
    seen, transport = scripted([(500, LOCK_500), (200, [{"recipient_id": "c1", "text": "您好"}])])
    replies = send(client_for(transport), "c1", "你好")
    assert [r.text for r in replies] == ["您好"]
    assert [r.url.path for r in seen] == ["/webhooks/rest/webhook"] * 2
    first, second = (json.loads(r.content) for r in seen)
    assert first == second and first["metadata"]["gateway_message_id"]


def test_second_lock_error_gives_up():
    _, transport = scripted([(500, LOCK_500), (500, LOCK_500)])
    with pytest.raises(RasaUnavailable, match="HTTP 500"):
        send(client_for(transport), "c1", "你好")


def test_other_server_errors_are_not_retried():
    seen, transport = scripted([(500, {"message": "boom"})])
    with pytest.raises(RasaUnavailable):
        send(client_for(transport), "c1", "你好")
    assert len(seen) == 1


def test_empty_answer_for_a_message_rasa_never_recorded_is_sent_again():
    """The REST channel swallows a lock error and answers []; the tracker shows the message was never taken."""
    seen, transport = scripted(
        [
            (200, []),
            (200, {"events": [{"event": "user", "text": "更早的", "metadata": {}}]}),
            (200, [{"text": "答复"}]),
        ]
    )
    assert [r.text for r in send(client_for(transport), "c1", "你好")] == ["答复"]
    assert [r.url.path for r in seen] == [
        "/webhooks/rest/webhook",
        "/conversations/c1/tracker",
        "/webhooks/rest/webhook",
    ]


def test_empty_answer_for_a_recorded_message_is_not_sent_again():
    def tracker(request):
        return {"events": [{"event": "user", "text": "你好", "metadata": {"gateway_message_id": marker[0]}}]}

    marker = []

    def webhook(request):
        marker.append(json.loads(request.content)["metadata"]["gateway_message_id"])
        return []

    seen, transport = scripted([(200, webhook), (200, tracker)])
    assert send(client_for(transport), "c1", "你好") == []
    assert len(seen) == 2


def test_resume_and_pause_post_tracker_events():
    seen, transport = scripted([(200, {}), (500, LOCK_500), (200, {})])
    client = client_for(transport)
    client.resume("c1")
    client.pause("c1")  # lock error once, then accepted
    assert [(r.method, r.url.path, json.loads(r.content)) for r in seen] == [
        ("POST", "/conversations/c1/tracker/events", {"event": "resume"}),
        ("POST", "/conversations/c1/tracker/events", {"event": "pause"}),
        ("POST", "/conversations/c1/tracker/events", {"event": "pause"}),
    ]


def test_resume_failure_is_reported():
    _, transport = scripted([(404, {"message": "no"})])
    with pytest.raises(RasaUnavailable, match="HTTP 404 to resume"):
        client_for(transport).resume("c1")
