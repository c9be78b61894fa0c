"""The resident message flow: store the message, ask the bot, store its answer, hand off when it says so.

Under load this is where the gateway degrades instead of failing (measured with `fengqiao bench load`):

- No database connection is held while the bot thinks. Each step that touches the database is a short
  transaction of its own, run in the thread pool; the Rasa call is an async HTTP request on the event loop,
  so a slow bot ties up neither a connection nor a worker thread.
- At most `rasa_concurrency` messages of this gateway are with Rasa at once; the others wait, in arrival
  order, for a slot (Rasa does the work one message at a time anyway: more in flight only makes each slower
  and lets them time out together).
- At most `max_pending_messages` messages wait or are being answered. Beyond that a new message is refused
  with 503 and `Retry-After` *before it is stored*, so it is neither stored without an answer nor answered
  without being stored; the widget shows that it is queued and sends it again with the same `client_id`.
- A message that is stored is answered. If the gateway that stored it dies first, the resident's resend of
  the same `client_id` (the widget resends whatever it has no answer for) is answered by whichever gateway
  gets it, and a sweep answers any message left without a reply for `orphan_after_s`.
- When Rasa or the action server is down the resident gets an apology that says plainly that the message
  was kept and should be sent again (or to press 转人工, which then hands off without the bot). The apology is
  the message's reply: it is not answered a second time when the bot is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import HTTPException, status
from sqlalchemy import and_, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api import mediation
from api.db import get_existing
from api.events import conversation_channel
from api.limits import too_many
from api.mediation import Conflict, HandoffRequest, Outbox, Publisher
from api.metrics import Metrics
from api.models import BOT, CLOSED, WAITING, Conversation, Message, Transition, as_utc, utcnow
from api.rasa_client import BotReply, RasaUnavailable
from api.schemas import MessageIn, MessageReply, QueueInfo, Reply
from core.contracts import HandoffReason

log = logging.getLogger(__name__)

OFFER_MEDIATOR = [{"title": "转人工调解员", "payload": mediation.HANDOFF_PAYLOAD}]
RASA_DOWN = (
    "抱歉，智能助手暂时无法回复（系统正在恢复）。您的消息已经保存，请稍后再发一次；"
    "着急的话可以点下面的“转人工调解员”，由人民调解员为您服务。"
)
ACTIONS_DOWN = (
    "抱歉，法律条文检索服务暂时出了故障，这条问题没能回答。您的消息已经保存，请稍后再问一次；"
    "着急的话可以点下面的“转人工调解员”，由人民调解员为您服务。"
)
NO_REPLY = "抱歉，我暂时没能回答这个问题。能否换个说法再问一次？"
BOT_DOWN_HANDOFF = "智能助手暂时无法回复，已直接为您转接人民调解员。"
CLOSED_DETAIL = "this conversation has been closed; start a new one"
BUSY_DETAIL = "现在咨询的人较多，您的消息还没有收下，请稍后再发（同一条消息可以原样重发）。"
HANDOFF_LIMIT_ZH = "从这个网络转人工的请求太多，"
SWEEP_EVERY_S = 15.0
ANSWERED_KEPT = 10_000
SWEEP_HORIZON = timedelta(days=1)


def handoff_limit_en(settings) -> str:
    return (
        f"Too many requests for a mediator from this address (at most {settings.client_handoffs_per_10_min} "
        "in 10 minutes)"
    )


@dataclass(frozen=True)
class ConversationRef:
    """What the flow needs of an authenticated conversation, detached from any database session."""

    id: str
    region: str | None


def reply_of(m: Message) -> Reply:
    payload = m.payload or {}
    return Reply(
        text=m.text,
        citations=payload.get("citations", []),
        buttons=payload.get("buttons", []),
        id=m.id,
        created_at=as_utc(m.created_at),
    )


def as_queue_info(info: dict[str, int] | None) -> QueueInfo | None:
    return None if info is None else QueueInfo(**info)


def queue_info(session: Session, conversation: Conversation, default_wait_s: int) -> QueueInfo | None:
    if conversation.mode != WAITING:
        return None
    return as_queue_info(mediation.queue_positions(session, default_wait_s).get(conversation.id))


class MessageFlow:
    """One per gateway process; its counters live on the event loop's thread."""

    def __init__(self, state: Any):
        self.state = state
        self.settings = state.settings
        self.pending = 0
        self.in_flight: set[int] = set()
        self._slots: asyncio.Semaphore | None = None
        self._slots_loop: asyncio.AbstractEventLoop | None = None
        # Completion times of the latest answers, for Retry-After (bounded: a busy gateway answers for weeks).
        self._answered: deque[float] = deque(maxlen=ANSWERED_KEPT)

    @property
    def publisher(self) -> Publisher:
        return Publisher(self.state.bus, self.settings.handoff_default_wait_s)

    # -- the request -------------------------------------------------------------------------------------------

    async def post(self, ref: ConversationRef, body: MessageIn, client: str | None = None) -> MessageReply:
        """`client`: the sender's address, for the per-client limits (none for the gateway's own resends)."""
        earlier = await run_in_threadpool(self._earlier, ref, body.client_id)
        if earlier is not None:
            resident_id, reply, orphaned = earlier
            if not orphaned or resident_id in self.in_flight:
                return reply
            log.info(
                "conversation %s: message %s was stored but never answered; answering it now",
                ref.id,
                resident_id,
            )
            return await self._admitted(self._answer, ref, resident_id, body.text, body.client_id)
        return await self._admitted(self._receive, ref, body, client)

    async def _admitted(self, step, *args):
        if self.pending >= self.settings.max_pending_messages:
            self.state.metrics.overload.inc()
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                BUSY_DETAIL,
                headers={"Retry-After": str(self.retry_after())},
            )
        self.pending += 1
        try:
            return await step(*args)
        finally:
            self.pending -= 1

    def retry_after(self) -> int:
        """Seconds until about a tenth of the queue has drained, at the rate of the last minute (1 to 30)."""
        now = time.monotonic()
        while self._answered and now - self._answered[0] >= 60:
            self._answered.popleft()
        rate = len(self._answered) / min(60.0, max(1.0, now - self._answered[0])) if self._answered else 0.0
        if rate <= 0:
            return 5
        return int(min(30, max(1, round(0.1 * self.pending / rate))))

    async def _receive(
        self, ref: ConversationRef, body: MessageIn, client: str | None = None
    ) -> MessageReply:
        stored = await run_in_threadpool(self._store_resident, ref, body, client)
        if isinstance(stored, MessageReply):
            return stored
        return await self._answer(ref, stored, body.text, body.client_id)

    async def _answer(
        self, ref: ConversationRef, resident_id: int, text: str, client_id: str | None
    ) -> MessageReply:
        self.in_flight.add(resident_id)
        try:
            async with self._slot():
                bot_replies, bot_down = await self._ask_bot(ref, text, resident_id)
            return await run_in_threadpool(
                self._store_answer, ref, resident_id, client_id, text, bot_replies, bot_down
            )
        finally:
            self.in_flight.discard(resident_id)
            self._answered.append(time.monotonic())

    def _slot(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots_loop is not loop:
            self._slots = asyncio.Semaphore(self.settings.rasa_concurrency)
            self._slots_loop = loop
        return self._slots

    # -- database steps (thread pool; each a short transaction of its own) ------------------------------------

    def _earlier(self, ref: ConversationRef, client_id: str | None) -> tuple[int, MessageReply, bool] | None:
        """A resend of a message the server already has: its answer, and whether it was left unanswered."""
        if not client_id:
            return None
        with self.state.db.sessions() as session:
            resident = _client_message(session, ref.id, client_id)
            if resident is None:
                return None
            reply = self._duplicate(session, resident)
            orphaned = not reply.replies and reply.mode == BOT and _since_last_transition(session, resident)
            return resident.id, reply, orphaned

    def _duplicate(self, session: Session, resident: Message) -> MessageReply:
        replies = session.scalars(
            select(Message)
            .where(Message.conversation_id == resident.conversation_id, Message.reply_to == resident.id)
            .order_by(Message.id)
        )
        conversation = get_existing(session, Conversation, resident.conversation_id)
        return MessageReply(
            mode=conversation.mode,
            replies=[reply_of(m) for m in replies],
            message_id=resident.id,
            client_id=resident.client_id,
            duplicate=True,
        )

    def _store_resident(
        self, ref: ConversationRef, body: MessageIn, client: str | None = None
    ) -> int | MessageReply:
        """Stores the resident's words before anything else can fail; returns its id, or the whole reply when
        the bot is not to be asked (a mediator owns the conversation, or this is a concurrent resend)."""
        settings = self.settings
        with self.state.db.sessions() as session:
            conversation = session.get(Conversation, ref.id)
            if conversation.mode == CLOSED:
                raise HTTPException(status.HTTP_409_CONFLICT, CLOSED_DETAIL)
            wait = self.state.message_limiter.hit(ref.id)
            if wait:
                raise HTTPException(
                    status.HTTP_429_TOO_MANY_REQUESTS,
                    f"too many messages; at most {settings.message_rate_per_minute} a minute",
                    headers={"Retry-After": str(max(1, round(wait)))},
                )
            if client is not None:
                # Per client address too, over all its conversations: more conversations are not more messages.
                limits = self.state.client_limits
                wait = limits["messages"].hit(client)
                if wait:
                    raise too_many(
                        wait,
                        "从这个网络发送的消息太多，",
                        "Too many messages from this address (at most "
                        f"{settings.client_messages_per_minute} a minute)",
                    )
                if body.text == mediation.HANDOFF_PAYLOAD and conversation.mode == BOT:
                    wait = limits["handoffs"].hit(client)
                    if wait:
                        raise too_many(wait, HANDOFF_LIMIT_ZH, handoff_limit_en(settings))
            outbox = Outbox()
            payload: dict[str, Any] = {"display": body.display} if body.display else {}
            try:
                resident = mediation.add_message(
                    session, outbox, ref.id, "resident", body.text, payload=payload, client_id=body.client_id
                )
                session.commit()
            except IntegrityError:
                # The same client id sent twice at the same moment: the other request stored it and answers it.
                session.rollback()
                existing = _client_message(session, ref.id, body.client_id)
                if existing is None:
                    raise
                return self._duplicate(session, existing)
            self.state.metrics.messages.labels("resident").inc()
            self.publisher(session, outbox)
            session.refresh(conversation)
            if conversation.mode != BOT:
                # A mediator owns the conversation (or the resident is waiting for one): Rasa never sees it.
                return MessageReply(
                    mode=conversation.mode,
                    replies=[],
                    message_id=resident.id,
                    client_id=body.client_id,
                    queue=queue_info(session, conversation, settings.handoff_default_wait_s),
                )
            return resident.id

    def _store_answer(
        self,
        ref: ConversationRef,
        resident_id: int,
        client_id: str | None,
        text: str,
        bot_replies: list[BotReply],
        bot_down: bool,
    ) -> MessageReply:
        state = self.state
        with state.db.sessions() as session:
            conversation = session.get(Conversation, ref.id)
            if bot_down and text == mediation.HANDOFF_PAYLOAD:
                # The resident pressed "转人工" while the bot is down: the gateway hands off by itself.
                return self._handoff_without_bot(session, conversation, resident_id, client_id)
            handoff_request: HandoffRequest | None = None
            replies: list[Reply] = []
            outbox = Outbox()
            for reply in bot_replies:
                if "handoff" in reply.custom:
                    handoff_request = HandoffRequest.from_bot(reply.custom["handoff"])
                custom = {k: v for k, v in reply.custom.items() if k != "handoff"}
                msg = mediation.add_message(
                    session,
                    outbox,
                    ref.id,
                    "bot",
                    reply.text,
                    payload={"citations": reply.citations, "buttons": reply.buttons} | custom,
                    reply_to=resident_id,
                )
                replies.append(reply_of(msg))
            session.commit()
            state.metrics.messages.labels("bot").inc(len(replies))
            self.publisher(session, outbox)
            queue = None
            if handoff_request is not None:
                queue = open_handoff(
                    self.publisher,
                    state.metrics,
                    session,
                    conversation,
                    handoff_request,
                    source="bot",
                    actor="bot",
                )
            session.refresh(conversation)
            return MessageReply(
                mode=conversation.mode,
                replies=replies,
                message_id=resident_id,
                client_id=client_id,
                queue=queue,
            )

    def _handoff_without_bot(
        self, session: Session, conversation: Conversation, resident_id: int, client_id: str | None
    ) -> MessageReply:
        outbox = Outbox()
        note = mediation.add_message(
            session,
            outbox,
            conversation.id,
            "bot",
            BOT_DOWN_HANDOFF,
            payload={"error": "rasa_unavailable"},
            reply_to=resident_id,
        )
        session.commit()
        self.publisher(session, outbox)
        queue = open_handoff(
            self.publisher,
            self.state.metrics,
            session,
            conversation,
            mediation.resident_request(session, conversation, HandoffReason.RESIDENT_REQUEST_BOT_DOWN),
            source="gateway",
            actor="resident",
        )
        session.refresh(conversation)
        return MessageReply(
            mode=conversation.mode,
            replies=[reply_of(note)],
            message_id=resident_id,
            client_id=client_id,
            queue=queue,
        )

    # -- the bot -----------------------------------------------------------------------------------------------

    async def _ask_bot(
        self, ref: ConversationRef, text: str, resident_id: int
    ) -> tuple[list[BotReply], bool]:
        """Rasa's replies, or an apology that offers a mediator; the flag says the bot could not answer."""
        state = self.state
        rasa = state.rasa
        metadata = {"region": ref.region} if ref.region else {}
        channel = conversation_channel(ref.id)
        state.bus.publish(
            channel, {"type": "typing", "conversation_id": ref.id, "from": "bot", "typing": True}
        )
        started = time.perf_counter()
        try:
            try:
                bot_replies = await rasa.send(ref.id, text, metadata)
                if not bot_replies and await run_in_threadpool(self._paused_after_handback, ref.id):
                    # A paused tracker answers nothing: the resume after the last handback may have been lost.
                    await run_in_threadpool(rasa.resume, ref.id)
                    bot_replies = await rasa.send(ref.id, text, metadata)
            except RasaUnavailable as exc:
                log.warning("conversation %s: %s", ref.id, exc)
                return [
                    BotReply(
                        text=RASA_DOWN, buttons=list(OFFER_MEDIATOR), custom={"error": "rasa_unavailable"}
                    )
                ], True
            finally:
                state.metrics.rasa_latency.observe(time.perf_counter() - started)
            if bot_replies:
                return bot_replies, False
            # Rasa answers with nothing when a custom action failed, most often because the action server is down.
            if await run_in_threadpool(rasa.action_server_healthy):
                return [BotReply(text=NO_REPLY, custom={"error": "no_reply"})], False
            log.warning("conversation %s: action server down", ref.id)
            return [
                BotReply(
                    text=ACTIONS_DOWN,
                    buttons=list(OFFER_MEDIATOR),
                    custom={"error": "action_server_unavailable"},
                )
            ], True
        finally:
            state.bus.publish(
                channel, {"type": "typing", "conversation_id": ref.id, "from": "bot", "typing": False}
            )

    def _paused_after_handback(self, conversation_id: str) -> bool:
        with self.state.db.sessions() as session:
            handed_back = session.scalar(
                select(Transition.id)
                .where(Transition.conversation_id == conversation_id, Transition.to_mode == BOT)
                .limit(1)
            )
        return handed_back is not None and self.state.rasa.action_server_healthy()

    # -- messages left unanswered by a gateway that died ------------------------------------------------------

    def orphans(self) -> list[tuple[ConversationRef, int, str, str | None]]:
        """Resident messages stored in a bot-owned conversation since its last change of owner, older than
        `orphan_after_s`, with no reply and not being answered here."""
        now = utcnow()
        reply = Message.__table__.alias("reply")
        last_change = (
            select(func.max(Transition.at))
            .where(Transition.conversation_id == Message.conversation_id)
            .scalar_subquery()
        )
        query = (
            select(Message, Conversation.region)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(
                Message.sender == "resident",
                Conversation.mode == BOT,
                Message.created_at < now - timedelta(seconds=self.settings.orphan_after_s),
                Message.created_at > now - SWEEP_HORIZON,
                ~exists().where(reply.c.reply_to == Message.id),
                (last_change.is_(None)) | (Message.created_at > last_change),
            )
            .order_by(Message.id)
            .limit(100)
        )
        with self.state.db.sessions() as session:
            rows = session.execute(query).all()
        return [
            (ConversationRef(m.conversation_id, region), m.id, m.text, m.client_id)
            for m, region in rows
            if m.id not in self.in_flight
        ]

    async def sweep_once(self) -> int:
        answered = 0
        for ref, resident_id, text, client_id in await run_in_threadpool(self.orphans):
            if resident_id in self.in_flight:
                continue
            log.warning(
                "conversation %s: message %s had no answer after %s s; answering it now",
                ref.id,
                resident_id,
                self.settings.orphan_after_s,
            )
            await self._answer(ref, resident_id, text, client_id)
            answered += 1
        return answered

    async def sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY_S)
            try:
                await self.sweep_once()
            except Exception:  # the next round tries again; the reason is logged
                log.exception("sweep of unanswered messages failed")


def _client_message(session: Session, conversation_id: str, client_id: str | None) -> Message | None:
    if not client_id:
        return None
    return session.scalar(
        select(Message).where(Message.conversation_id == conversation_id, Message.client_id == client_id)
    )


def _since_last_transition(session: Session, resident: Message) -> bool:
    """Was the message sent while the bot owned the conversation for the last time (so it is the bot's to answer)?"""
    later_change = session.scalar(
        select(Transition.id)
        .where(
            and_(Transition.conversation_id == resident.conversation_id, Transition.at >= resident.created_at)
        )
        .limit(1)
    )
    return later_change is None


def open_handoff(
    publish: Publisher,
    metrics: Metrics,
    session: Session,
    conversation: Conversation,
    handoff_request: HandoffRequest,
    *,
    source: str,
    actor: str,
) -> QueueInfo | None:
    """bot → waiting; if another request handed the conversation off in the meantime, that handoff stands."""
    outbox = Outbox()
    default_wait_s = publish.default_wait_s
    try:
        handoff, queue = mediation.open_handoff(
            session,
            outbox,
            conversation,
            handoff_request,
            source=source,
            actor=actor,
            default_wait_s=default_wait_s,
        )
        session.commit()
    except (Conflict, IntegrityError) as exc:
        session.rollback()
        log.info("conversation %s: no second handoff (%s)", conversation.id, exc)
        session.refresh(conversation)
        return queue_info(session, conversation, default_wait_s)
    metrics.handoffs.labels(source, handoff.priority).inc()
    publish(session, outbox)
    return as_queue_info(queue)


@contextlib.asynccontextmanager
async def sweeping(flow: MessageFlow):
    """Run the sweep of unanswered messages for as long as the gateway runs."""
    task = asyncio.create_task(flow.sweep_forever(), name="unanswered-messages")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
