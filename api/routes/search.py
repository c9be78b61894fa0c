"""GET /api/search: the knowledge base, ranked, with the citation fields of the contract.

Limited per client address (`client_search_cost_per_minute`, shared by every gateway through Redis): a search
of k results costs ceil(k/10), so the default 60 a minute is 60 searches of 10 results or 6 of 100. Heavier
searches are counted heavier rather than refused, so the console's wider searches keep working.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status

from api.deps import ClientLimitsDep, KnowledgeBaseDep, SettingsDep
from api.limits import client_address, too_many
from api.schemas import SearchResults
from knowledge_base.search import KnowledgeBaseNotBuilt

router = APIRouter(prefix="/api", tags=["knowledge"])


@router.get(
    "/search",
    response_model=SearchResults,
    responses={429: {"description": "too many searches from this address"}},
)
def search(
    request: Request,
    kb: KnowledgeBaseDep,
    settings: SettingsDep,
    limits: ClientLimitsDep,
    q: Annotated[str, Query(min_length=1, max_length=500)],
    k: Annotated[int, Query(ge=1, le=100)] = 10,
    kind: Literal["statute", "precedent"] | None = None,
    region: Annotated[str | None, Query(max_length=64)] = None,
) -> SearchResults:
    if not q.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "query is empty")
    wait = limits["search"].hit(client_address(request), cost=math.ceil(k / 10))
    if wait:
        raise too_many(
            wait,
            "检索太频繁，",
            "Too many searches from this address "
            f"(at most {settings.client_search_cost_per_minute} a minute; "
            "k results count as ceil(k/10) searches)",
        )
    try:
        hits = kb.search(q, k=k, kind=kind, region=region)
    except KnowledgeBaseNotBuilt as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    return SearchResults.model_validate(
        {
            "query": q,
            "k": k,
            "kind": kind,
            "hits": [h.citation() | {"rank": h.rank, "match": h.match} for h in hits],
        }
    )
