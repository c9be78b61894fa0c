"""GET /api/search: the knowledge base, ranked, with the citation fields of the contract."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status

from api.deps import KnowledgeBaseDep
from knowledge_base.search import KnowledgeBaseNotBuilt

router = APIRouter(prefix="/api", tags=["knowledge"])


@router.get("/search")
def search(
    kb: KnowledgeBaseDep,
    q: Annotated[str, Query(min_length=1, max_length=500)],
    k: Annotated[int, Query(ge=1, le=100)] = 10,
    kind: Literal["statute", "precedent"] | None = None,
    region: Annotated[str | None, Query(max_length=64)] = None,
):
    if not q.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "query is empty")
    try:
        hits = kb.search(q, k=k, kind=kind, region=region)
    except KnowledgeBaseNotBuilt as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    return {"query": q, "k": k, "kind": kind,
            "hits": [h.citation() | {"rank": h.rank, "match": h.match} for h in hits]}
