from __future__ import annotations


def test_healthz_up_but_degraded_without_dense_index(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "degraded"
    assert (body["down"], body["degraded"]) == ([], ["knowledge_base"])
    assert set(body["checks"]) == {"rasa", "action_server", "knowledge_base", "database"}
    kb = body["checks"]["knowledge_base"]
    assert kb["counts"]["statute"] == 5 and kb["dense"] is False


def test_healthz_503_when_rasa_down(client, rasa):
    rasa.down = True
    resp = client.get("/healthz")
    assert resp.status_code == 503
    assert resp.json()["down"] == ["rasa"]


def test_healthz_503_when_action_server_down(client, rasa):
    rasa.actions_down = True
    resp = client.get("/healthz")
    assert resp.status_code == 503
    assert resp.json()["down"] == ["action_server"]


def test_healthz_503_when_no_model_loaded(client, rasa):
    rasa.model_loaded = False
    resp = client.get("/healthz")
    assert resp.status_code == 503
    assert resp.json()["checks"]["rasa"] == {"status": "down", "error": "no model loaded"}


def test_healthz_503_when_knowledge_base_missing(tmp_path, rasa):
    from fastapi.testclient import TestClient

    from api.main import create_app
    from core.settings import Settings

    with TestClient(create_app(Settings(data_dir=tmp_path), rasa=rasa)) as c:
        resp = c.get("/healthz")
    assert resp.status_code == 503
    assert resp.json()["down"] == ["knowledge_base"]


def test_search_contract_fields(client):
    resp = client.get("/api/search", params={"q": "拖欠工资", "k": 3})
    assert resp.status_code == 200
    hit = resp.json()["hits"][0]
    assert {"kind", "law", "article_no", "text", "status", "score", "rank"} <= set(hit)
    assert (hit["law"], hit["article_no"]) == ("中华人民共和国劳动法", "第五十条")


def test_search_kind_filter_and_bad_parameters(client):
    resp = client.get("/api/search", params={"q": "加班费", "kind": "precedent"})
    assert resp.status_code == 200
    assert [h["kind"] for h in resp.json()["hits"]] == ["precedent"]
    assert client.get("/api/search", params={"q": ""}).status_code == 422
    assert client.get("/api/search", params={"q": "   "}).status_code == 422
    assert client.get("/api/search", params={"q": "工资", "k": 0}).status_code == 422
    assert client.get("/api/search", params={"q": "工资", "kind": "blog"}).status_code == 422


def test_livez_is_about_the_gateway_alone(client, rasa):
    """A supervisor restarting the gateway must see it up even while Rasa is down (that is /healthz's 503)."""
    rasa.down = True
    assert client.get("/healthz").status_code == 503
    resp = client.get("/livez")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "checks": {"database": {"status": "ok"}}}
