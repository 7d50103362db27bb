"""Templates: ``POST /templates/preview`` renders customer-authored Liquid for a chosen customer.

An e-mail is previewed as its ``subject`` and ``body``; the other channels have one text, ``template``. The
customer's variables are live; with ``campaign_id`` the trigger variables are those of the customer's latest entry
into that campaign, and ``event``, ``order`` and ``context`` stand in for a trigger's. Each missing variable is a
warning (it renders as empty, as it would when sent); a syntax error, a failing filter or an exceeded limit is a
422 naming the field and the line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tidings.api.customers import find_customer
from tidings.api.deps import MAX_ID, ServicesDep
from tidings.api.routing import StrictJsonRoute
from tidings.rendering.templates import TemplateError, default_templates
from tidings.rendering.variables import preview_context

router = APIRouter(tags=["templates"], route_class=StrictJsonRoute)

Channel = Literal["email", "sms", "viber", "push", "notification", "popup"]


class PreviewEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=128, description="Event name, e.g. `registration`.")
    properties: dict[str, Any] = Field(default_factory=dict, description="`event.properties.*`.")
    occurred_at: datetime | None = Field(default=None, description="Defaults to now.")


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: Channel = Field(default="email", description="An e-mail has a subject and a body; others a template.")
    template: str | None = Field(default=None, description="The text of an SMS, push, notification or popup.")
    subject: str | None = Field(default=None, description="E-mail subject.")
    body: str | None = Field(default=None, description="E-mail HTML body.")
    customer: str = Field(min_length=1, max_length=128, description="External id of the customer to render for.")
    campaign_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Campaign variables, and the trigger of its latest entry."
    )
    event: PreviewEvent | None = Field(default=None, description="A sample event as `event`.")
    order: str | None = Field(
        default=None, min_length=1, max_length=128, description="External id of an order of the customer."
    )
    context: dict[str, Any] | None = Field(default=None, description="A sample enrolment context as `context`.")

    @model_validator(mode="after")
    def _fields_for_channel(self) -> PreviewIn:
        if self.channel == "email":
            if self.template is None and self.subject is None and self.body is None:
                raise ValueError("send the e-mail's subject and/or body (or one template)")
        elif self.subject is not None or self.body is not None:
            raise ValueError(f"a {self.channel} message has one text: send it as template")
        elif self.template is None:
            raise ValueError("send the template to preview")
        return self


class PreviewWarning(BaseModel):
    field: str = Field(description="template, subject or body.")
    line: int | None
    problem: str


class PreviewOut(BaseModel):
    channel: Channel
    customer: str
    rendered: dict[str, str] = Field(description="The rendered text of each field sent.")
    warnings: list[PreviewWarning]


@router.post("/templates/preview", summary="Render templates for one customer")
def preview(body: PreviewIn, services: ServicesDep) -> PreviewOut:
    sources = {"template": body.template, "subject": body.subject, "body": body.body}
    templates = default_templates()
    now = services.clock.now()
    with services.db.engine.begin() as conn:
        customer_id = int(find_customer(conn, body.customer)["id"])
        context = preview_context(
            conn,
            services.db.dialect,
            customer_id,
            now=now,
            public_url=services.settings.public_url,
            campaign_id=body.campaign_id,
            order=body.order,
            event=body.event.model_dump() if body.event is not None else None,
            context=body.context,
        )
    rendered: dict[str, str] = {}
    warnings: list[PreviewWarning] = []
    for field, source in sources.items():
        if source is None:
            continue
        try:
            result = templates.preview(source, context)
        except TemplateError as error:
            raise error.in_field(field) from None
        rendered[field] = result.text
        warnings += [PreviewWarning(field=field, line=w.line, problem=w.problem) for w in result.warnings]
    return PreviewOut(channel=body.channel, customer=body.customer, rendered=rendered, warnings=warnings)
