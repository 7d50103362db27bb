"""Polls (spec 5.7): their API under ``/api/v1/polls`` and the public voting page at ``/vote/{token}``.

A poll has single-choice, multiple-choice (optionally at most N answers) and open questions, and the code
``POLL-<id>``. Each customer reaches it through a personal signed link (the ``poll_link`` template filter, or
``GET /polls/{code}/link``) and answers it once (E20): a second submission is refused, and so is one beyond the
limit a Limit poll node set ("poll closed", D5). Answers are listed by ``GET /polls/{code}/responses`` and are
also a ``poll_completed`` event in the customer's history — properties ``poll`` (the code), ``poll_id``, each
answer by question id, and ``<question>__<option>: true`` for each option chosen in a multiple-choice question —
so conditions select on them with the event leaf, e.g.
``{"event": {"name": "poll_completed", "properties": [{"property": "poll", "value": "POLL-1"},
{"property": "q1", "value": "yes"}]}, "op": "at_least", "value": 1}``.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Connection, RowMapping
from starlette.concurrency import run_in_threadpool

from tidings.api.deps import PageDep, ServicesDep
from tidings.api.routing import StrictJsonRoute
from tidings.core.errors import Conflict, NotFound
from tidings.delivery.poll_links import PollLink, PollLinks, poll_code
from tidings.engine.polls import limit_reached, record_response
from tidings.services import Services
from tidings.store import polls as poll_sql
from tidings.store.customers import get_by_external

router = APIRouter(prefix="/polls", tags=["polls"], route_class=StrictJsonRoute)
public_router = APIRouter(include_in_schema=False)  # the API is documented under /api/v1 only

QUESTION_ID = r"^[A-Za-z][A-Za-z0-9_]{0,47}$"
OPTION_ID = r"^[A-Za-z0-9_]{1,48}$"
#: Event properties a question id may not take.
RESERVED_IDS = frozenset({"poll", "poll_id"})
MAX_OPEN_ANSWER = 2000
MAX_FORM_BYTES = 256 * 1024
NO_STORE = {"Cache-Control": "no-store, private"}


class PollNotFound(NotFound):
    code = "poll.not_found"


class PollAnswered(Conflict):
    code = "poll.answered"


# -- the poll ------------------------------------------------------------------------------------------------
class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=OPTION_ID, description="Option code: letters, digits and underscores.")
    text: str = Field(min_length=1, max_length=500)


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(
        pattern=QUESTION_ID,
        description="Question code (letters, digits, underscores; starts with a letter): the answer's property "
        "name in the `poll_completed` event.",
    )
    type: Literal["single", "multiple", "open"]
    text: str = Field(min_length=1, max_length=1000)
    options: list[Choice] = Field(default_factory=list, max_length=50, description="For single and multiple.")
    max_answers: int | None = Field(default=None, ge=1, description="For multiple: at most this many choices.")
    required: bool = True

    @model_validator(mode="after")
    def _fits_type(self) -> Question:
        if self.id in RESERVED_IDS or "__" in self.id:
            raise ValueError(f"question id {self.id!r} is reserved or contains '__'; choose another")
        if self.type == "open":
            if self.options or self.max_answers is not None:
                raise ValueError(f"question {self.id!r}: an open question has no options and no max_answers")
            return self
        ids = [option.id for option in self.options]
        if len(ids) < 2 or len(set(ids)) != len(ids):
            raise ValueError(f"question {self.id!r}: give at least two options with distinct ids")
        if self.max_answers is not None and (self.type != "multiple" or self.max_answers > len(ids)):
            raise ValueError(f"question {self.id!r}: max_answers is for multiple choice, at most the option count")
        return self


class PollIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    questions: list[Question] = Field(min_length=1, max_length=100)
    active: bool = Field(default=True, description="An inactive poll's page takes no answers.")

    @model_validator(mode="after")
    def _distinct_ids(self) -> PollIn:
        ids = [question.id for question in self.questions]
        if len(set(ids)) != len(ids):
            raise ValueError("questions: every question needs its own id")
        return self


class PollOut(BaseModel):
    id: int
    code: str = Field(description="POLL-<id>: what templates and the Limit poll node refer to.")
    name: str
    active: bool
    questions: list[Question]
    question_count: int
    respondents: int
    limit_type: str | None = Field(description="Set by a Limit poll node: total | per_store.")
    limit_value: int | None
    created_at: datetime


class PollList(BaseModel):
    items: list[PollOut]
    total: int


class ResponseOut(BaseModel):
    customer: str = Field(description="External id.")
    store_code: str | None
    answers: dict[str, Any]
    submitted_at: datetime


class ResponseList(BaseModel):
    items: list[ResponseOut]
    total: int


class LinkOut(BaseModel):
    poll: str
    customer: str
    url: str


def _out(row: RowMapping) -> PollOut:
    questions = [Question.model_validate(question) for question in row["questions"]]
    return PollOut(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        active=row["active"],
        questions=questions,
        question_count=len(questions),
        respondents=row["respondents"],
        limit_type=row["limit_type"],
        limit_value=row["limit_value"],
        created_at=row["created_at"],
    )


def _poll_id(code: str) -> int:
    normalised = poll_code(code)
    if normalised is None:
        raise PollNotFound(f"no poll {code!r}; poll codes look like POLL-1", details={"poll": code})
    return int(normalised.removeprefix("POLL-"))


def _row(conn: Connection, code: str) -> RowMapping:
    row = conn.execute(poll_sql.get_poll(_poll_id(code))).mappings().first()
    if row is None:
        raise PollNotFound(f"poll {code} does not exist", details={"poll": code})
    return row


@router.post("", status_code=201, summary="Create a poll")
def create(body: PollIn, services: ServicesDep) -> PollOut:
    questions = [question.model_dump() for question in body.questions]
    with services.db.engine.begin() as conn:
        inserted = conn.execute(
            poll_sql.insert_poll(name=body.name, questions=questions, active=body.active, now=services.clock.now())
        ).inserted_primary_key
        assert inserted is not None
        conn.execute(poll_sql.set_code(int(inserted[0])))
        return _out(conn.execute(poll_sql.get_poll(int(inserted[0]))).mappings().one())


@router.get("", summary="List polls: code, name, question count, respondents")
def list_polls(services: ServicesDep, page: PageDep) -> PollList:
    with services.db.engine.connect() as conn:
        rows = conn.execute(poll_sql.list_polls(limit=page.limit, offset=page.offset)).mappings().all()
        total = int(conn.execute(poll_sql.count_polls()).scalar_one())
    return PollList(items=[_out(row) for row in rows], total=total)


@router.get("/{code}", summary="A poll")
def get(code: str, services: ServicesDep) -> PollOut:
    with services.db.engine.connect() as conn:
        return _out(_row(conn, code))


@router.put("/{code}", summary="Replace a poll's name, questions and state")
def replace(code: str, body: PollIn, services: ServicesDep) -> PollOut:
    """The questions of a poll that has answers cannot change (the answers would no longer fit them); its name
    and state can."""
    questions = [question.model_dump() for question in body.questions]
    with services.db.engine.begin() as conn:
        row = _row(conn, code)
        if row["respondents"] and questions != row["questions"]:
            raise PollAnswered(
                f"poll {row['code']} has {row['respondents']} answers; its questions can no longer change "
                "(create a new poll instead)",
                details={"poll": row["code"], "respondents": row["respondents"]},
            )
        conn.execute(poll_sql.update_poll(row["id"], name=body.name, questions=questions, active=body.active))
        return _out(_row(conn, code))


@router.delete("/{code}", status_code=204, summary="Delete a poll with its answers")
def delete(code: str, services: ServicesDep) -> Response:
    with services.db.engine.begin() as conn:
        conn.execute(poll_sql.delete_poll(_row(conn, code)["id"]))
    return Response(status_code=204)


@router.get("/{code}/responses", summary="The answers, oldest first")
def responses(
    code: str,
    services: ServicesDep,
    page: PageDep,
    customer: Annotated[str | None, Query(min_length=1, max_length=128, description="One customer's answer.")] = None,
) -> ResponseList:
    with services.db.engine.connect() as conn:
        poll_id = _row(conn, code)["id"]
        customer_id = _customer_id(conn, customer) if customer is not None else None
        rows = conn.execute(
            poll_sql.responses_page(poll_id, customer_id=customer_id, limit=page.limit, offset=page.offset)
        ).mappings()
        items = [
            ResponseOut(
                customer=row["external_id"],
                store_code=row["store_code"],
                answers=row["answers"],
                submitted_at=row["submitted_at"],
            )
            for row in rows
        ]
        total = int(conn.execute(poll_sql.count_responses(poll_id, customer_id=customer_id)).scalar_one())
    return ResponseList(items=items, total=total)


@router.get("/{code}/link", summary="A customer's personal link to the poll")
def link(
    code: str,
    services: ServicesDep,
    customer: Annotated[str, Query(min_length=1, max_length=128, description="External id of the customer.")],
) -> LinkOut:
    with services.db.engine.connect() as conn:
        poll_code_ = _row(conn, code)["code"]
        _customer_id(conn, customer)
    return LinkOut(
        poll=poll_code_, customer=customer, url=PollLinks.from_settings(services.settings).url(poll_code_, customer)
    )


def _customer_id(conn: Connection, external_id: str) -> int:
    found = conn.execute(get_by_external(external_id)).mappings().first()
    if found is None:
        raise NotFound(f"customer {external_id!r} does not exist", details={"customer": external_id})
    return int(found["id"])


# -- the voting page -----------------------------------------------------------------------------------------
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#222}}
fieldset{{border:1px solid #ccc;border-radius:.5rem;margin:0 0 1rem;padding:.75rem 1rem}}
legend{{font-weight:600}} label{{display:block}} textarea{{width:100%;min-height:5rem;font:inherit}}
.error{{color:#b00020}} button{{font:inherit;padding:.5rem 1.25rem;cursor:pointer}}</style></head>
<body><main data-state="{state}"><h1>{title}</h1>{content}</main></body></html>
"""


def _page(state: str, title: str, content: str, status: int = 200) -> HTMLResponse:
    body = _PAGE.format(state=state, title=html.escape(title), content=content)
    return HTMLResponse(body, status_code=status, headers=NO_STORE)


def _message(state: str, title: str, text: str, status: int) -> HTMLResponse:
    return _page(state, title, f"<p>{html.escape(text)}</p>", status)


ANSWERED = ("answered", "Already answered", "You have already answered this poll. Thank you!")
CLOSED = ("closed", "Poll closed", "This poll is closed: it has all the answers it needs. Thank you!")
UNAVAILABLE = ("unavailable", "Poll not available", "This poll is not available.")


def _verify(services: Services, token: str) -> PollLink:
    found = PollLinks.from_settings(services.settings).verify(token)
    if found is None:
        raise PollNotFound("no such poll link; it may have been mistyped or cut short")
    return found


@public_router.get("/vote/{token}", response_class=HTMLResponse)
def vote_page(token: str, services: ServicesDep) -> HTMLResponse:
    link_ = _verify(services, token)
    with services.db.engine.connect() as conn:
        state = _state(conn, link_)
        if isinstance(state, HTMLResponse):
            return state
        poll, _customer = state
    return _form(poll, {}, {})


@public_router.post("/vote/{token}", response_class=HTMLResponse)
async def vote(token: str, request: Request, services: ServicesDep) -> HTMLResponse:
    link_ = _verify(services, token)
    body = await request.body()
    form = parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", errors="replace"), keep_blank_values=True)
    return await run_in_threadpool(_submit, services, link_, form)


def _state(conn: Connection, link_: PollLink, *, lock: bool = False) -> HTMLResponse | tuple[RowMapping, RowMapping]:
    """The poll and customer behind a link, or the page saying why there is nothing to answer."""
    poll_id = _poll_id(link_.poll_code)
    query = poll_sql.lock_poll(poll_id) if lock else poll_sql.get_poll(poll_id)
    poll = conn.execute(query).mappings().first()
    customer = conn.execute(get_by_external(link_.external_id)).mappings().first()
    if poll is None or customer is None or not poll["active"]:
        return _message(*UNAVAILABLE, status=404 if poll is None or customer is None else 410)
    if conn.execute(poll_sql.has_answered(poll_id, customer["id"])).scalar():
        return _message(*ANSWERED, status=409 if lock else 200)
    if limit_reached(conn, poll, customer["store_code"]):
        return _message(*CLOSED, status=410)
    return poll, customer


def _submit(services: Services, link_: PollLink, form: dict[str, list[str]]) -> HTMLResponse:
    now = services.clock.now()
    with services.db.engine.begin() as conn:
        state = _state(conn, link_, lock=True)
        if isinstance(state, HTMLResponse):
            return state
        poll, customer = state
        questions = [Question.model_validate(question) for question in poll["questions"]]
        answers, errors = parse_answers(questions, form)
        if errors:
            return _form(poll, form, errors, status=422)
        recorded = record_response(
            conn,
            services.db.dialect,
            poll=poll,
            customer_id=int(customer["id"]),
            store_code=customer["store_code"],
            answers=answers,
            event_properties=event_properties(poll, questions, answers),
            now=now,
        )
    if recorded.refused == "answered":
        return _message(*ANSWERED, status=409)
    if recorded.refused == "closed":
        return _message(*CLOSED, status=410)
    return _message("thanks", "Thank you!", "Your answers are saved.", 200)


def parse_answers(questions: list[Question], form: dict[str, list[str]]) -> tuple[dict[str, Any], dict[str, str]]:
    """The answers by question id, and a problem per question that was answered wrongly or not at all."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for question in questions:
        given = [value for value in form.get(question.id, []) if value.strip()]
        if not given:
            if question.required:
                errors[question.id] = "Please answer this question."
            continue
        if question.type == "open":
            text = given[0].strip()
            if len(text) > MAX_OPEN_ANSWER:
                errors[question.id] = f"Please keep the answer under {MAX_OPEN_ANSWER} characters."
            else:
                answers[question.id] = text
            continue
        known = {option.id for option in question.options}
        chosen = list(dict.fromkeys(given))
        if any(choice not in known for choice in chosen):
            errors[question.id] = "Please choose among the options shown."
        elif question.type == "single" and len(chosen) > 1:
            errors[question.id] = "Please choose one option."
        elif question.max_answers is not None and len(chosen) > question.max_answers:
            errors[question.id] = f"Please choose at most {question.max_answers} options."
        else:
            answers[question.id] = chosen[0] if question.type == "single" else chosen
    return answers, errors


def event_properties(poll: RowMapping, questions: list[Question], answers: dict[str, Any]) -> dict[str, Any]:
    """The ``poll_completed`` event's properties: the poll, every answer, and a flag per chosen option."""
    properties: dict[str, Any] = {"poll": poll["code"], "poll_id": poll["id"], **answers}
    for question in questions:
        if question.type == "multiple":
            for choice in answers.get(question.id, []):
                properties[f"{question.id}__{choice}"] = True
    return properties


def _form(poll: RowMapping, form: dict[str, list[str]], errors: dict[str, str], status: int = 200) -> HTMLResponse:
    parts = ['<form method="post">']
    for question in (Question.model_validate(item) for item in poll["questions"]):
        given = form.get(question.id, [])
        parts.append(f'<fieldset data-question="{html.escape(question.id)}"><legend>{html.escape(question.text)}')
        parts.append("" if question.required else " <small>(optional)</small>")
        parts.append("</legend>")
        if question.id in errors:
            parts.append(f'<p class="error">{html.escape(errors[question.id])}</p>')
        if question.type == "open":
            value = html.escape(given[0]) if given else ""
            parts.append(
                f'<textarea name="{html.escape(question.id)}" maxlength="{MAX_OPEN_ANSWER}">{value}</textarea>'
            )
        else:
            kind = "radio" if question.type == "single" else "checkbox"
            if question.max_answers is not None:
                parts.append(f"<p><small>Choose up to {question.max_answers}.</small></p>")
            for option in question.options:
                checked = " checked" if option.id in given else ""
                parts.append(
                    f'<label><input type="{kind}" name="{html.escape(question.id)}" '
                    f'value="{html.escape(option.id)}"{checked}> {html.escape(option.text)}</label>'
                )
        parts.append("</fieldset>")
    parts.append('<button type="submit">Send</button></form>')
    return _page("form", poll["name"], "".join(parts), status)
