"""Request and response bodies of the public HTTP contract."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_MESSAGE_CHARS = 2000


class ConversationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region: str | None = Field(default=None, max_length=64, examples=["浙江省绍兴市"])


class ConversationCreated(BaseModel):
    conversation_id: str
    token: str


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str

    @field_validator("text")
    @classmethod
    def _trimmed_length(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("message text is empty")
        if len(value) > MAX_MESSAGE_CHARS:
            raise ValueError(f"message text is longer than {MAX_MESSAGE_CHARS} characters")
        return value


class Citation(BaseModel):
    model_config = ConfigDict(extra="allow")
    kind: Literal["statute", "precedent"]
    law: str | None = None
    title: str | None = None
    article_no: str | None = None
    text: str
    status: str | None = None
    score: float | None = None


class Button(BaseModel):
    title: str
    payload: str


class Reply(BaseModel):
    text: str
    citations: list[Citation] = []
    buttons: list[Button] = []


class MessageReply(BaseModel):
    mode: str
    replies: list[Reply]


class TranscriptMessage(BaseModel):
    id: int
    sender: str
    text: str
    citations: list[Citation] = []
    buttons: list[Button] = []
    created_at: datetime


class ConversationOut(BaseModel):
    conversation_id: str
    mode: str
    region: str | None
    created_at: datetime
    messages: list[TranscriptMessage]


class SearchHit(Citation):
    rank: int


class SearchResults(BaseModel):
    query: str
    k: int
    kind: str | None
    hits: list[dict[str, Any]]
