"""Templates: the limits stop hostile templates with an error naming the limit; missing variables render empty;
money and dates in the customer's time zone; the variables of a chunk of messages, built set at a time from
customers, entries and the events that started them (both databases)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from liquid import Environment
from sqlalchemy import event, select

from tests.engine.helpers import add_customers, advance, campaign, email_node, post_events, set_timezone, start
from tidings.core.errors import DocumentInvalid
from tidings.document.campaign import CampaignDocument
from tidings.document.validation import parse_document
from tidings.rendering.templates import (
    Limits,
    TemplateContext,
    TemplateError,
    TemplateLimitExceeded,
    TemplateRenderError,
    Templates,
    TemplateSyntaxError,
    check_syntax,
)
from tidings.rendering.variables import MessageRef, build_contexts, order_variables
from tidings.services import Services
from tidings.store.account import load_account
from tidings.store.tables import messages, order_lines, orders, products, stores

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
RIGA = ZoneInfo("Europe/Riga")
TEMPLATES = Templates()


def render(source: str, templates: Templates = TEMPLATES, tz: Any = RIGA, **variables: Any) -> str:
    return templates.render(source, TemplateContext(variables, tz, NOW))


def limit_of(source: str, templates: Templates = TEMPLATES, **variables: Any) -> TemplateLimitExceeded:
    with pytest.raises(TemplateLimitExceeded) as caught:
        render(source, templates, **variables)
    return caught.value


# -- limits ----------------------------------------------------------------------------------------------------


def test_nested_huge_ranges_are_refused_before_they_start() -> None:
    source = (
        "{% for i in (1..1000) %}{% for j in (1..1000) %}{% for k in (1..1000) %}x{% endfor %}{% endfor %}{% endfor %}"
    )
    started = time.monotonic()
    error = limit_of("Hello\n" + source)
    assert time.monotonic() - started < 0.1
    assert (error.limit, error.line, error.code) == ("loop_iterations", 2, "template.limit_exceeded")
    assert str(error) == "line 2: a loop would run more than 10,000 iterations (nested loops multiply)"


FOREVER = "{% for i in (1..100) %}{% for j in (1..100) %}{{ j | append: i }}{% endfor %}{% endfor %}" * 1_000


def test_a_template_that_loops_forever_is_stopped_within_a_second() -> None:
    """Every loop nest is within the per-nest limit, but there are a thousand of them."""
    TEMPLATES.parse(FOREVER)  # parsing is the save's work, not the render's
    started = time.monotonic()
    error = limit_of(FOREVER)
    assert time.monotonic() - started < 1.0
    assert error.limit in ("total_iterations", "render_seconds")  # whichever comes first on this machine


def test_the_iteration_budget_stops_it_the_same_way_on_any_machine() -> None:
    error = limit_of(FOREVER, Templates(Limits(render_seconds=60)))
    assert (error.limit, error.line) == ("total_iterations", 1)
    assert str(error) == "line 1: loops ran more than 100,000 iterations in all"


def test_the_render_timeout_stops_what_the_counters_allow() -> None:
    generous = Templates(Limits(total_iterations=10**12, render_seconds=0.3))
    generous.parse("<p>\n" + FOREVER)
    started = time.monotonic()
    error = limit_of("<p>\n" + FOREVER, generous)
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 1.0
    assert (error.limit, error.line) == ("render_seconds", 2)
    assert str(error) == "line 2: rendering took longer than 0.3 s and was stopped"


def test_a_hundred_megabytes_of_output_stop_at_the_output_limit() -> None:
    block = "x" * 100_000
    source = "{% capture s %}" + block + "{% endcapture %}{% for i in (1..1000) %}{{ s }}{% endfor %}"  # 100 MB
    started = time.monotonic()
    error = limit_of(source)
    assert time.monotonic() - started < 0.5
    assert error.limit == "output_chars"
    assert str(error) == "line 1: the rendered text passed the limit of 1,000,000 characters"
    # without a loop too: a thousand outputs of one big captured value
    error = limit_of("{% capture s %}" + block + "{% endcapture %}" + "{{ s }}" * 1_000)
    assert error.limit == "output_chars"
    # and inside a capture, whose buffer gets what is left of the limit
    error = limit_of("{% capture t %}{% for i in (1..1000) %}" + block + "{% endfor %}{% endcapture %}")
    assert error.limit == "output_chars"


def test_values_that_grow_by_doubling_stop_at_the_variable_limit() -> None:
    error = limit_of("{% assign s = 'xx' %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}")
    assert error.limit == "assigned_chars"
    # a list holding one big string many times counts it every time
    source = (
        "{% capture big %}" + "y" * 10_000 + "{% endcapture %}{% assign a = big | split: ',' %}"
        "{% for i in (1..12) %}{% assign a = a | concat: a %}{% endfor %}{{ a | join: '' | size }}"
    )
    assert limit_of(source).limit == "assigned_chars"


def test_join_and_replace_may_not_make_a_huge_text() -> None:
    big = "{% capture big %}" + "z" * 100_000 + "{% endcapture %}"
    error = limit_of(big + "{{ 'a,b,c,d,e,f,g,h,i,j,k,l' | split: ',' | join: big }}")
    assert (error.limit, str(error)) == (
        "value_chars",
        "line 1: join: the joined text would pass the limit of 1,000,000 characters",
    )
    assert limit_of(big + "{{ big | replace: 'z', 'zzzzzzzzzzzz' }}").limit == "value_chars"
    assert render("{{ 'a-b' | replace: '-', '+' }} {{ 'a,b' | split: ',' | join: '; ' }}") == "a+b a; b"


def test_numbers_may_not_grow_without_bound() -> None:
    error = limit_of("{% assign n = 2 %}{% for i in (1..40) %}{% assign n = n | times: n %}{% endfor %}{{ n }}")
    assert (error.limit, str(error)) == ("number_digits", "line 1: times: its result has more than 1,000 digits")


def test_a_chain_of_slow_filters_is_stopped_by_the_clock() -> None:
    sorts = " | sort | reverse" * 20
    source = "{% capture s %}{% for i in (1..5000) %}" + "ab" * 20 + "{% endfor %}{% endcapture %}"
    source += "{{ s | split: ''" + sorts + " | size }}"
    templates = Templates(Limits(render_seconds=0.2))
    templates.parse(source)
    started = time.monotonic()
    assert limit_of(source, templates).limit == "render_seconds"
    assert time.monotonic() - started < 1.0


def test_deep_nesting_is_refused_when_saved_naming_the_line() -> None:
    source = "<p>\n" + "{% if customer %}" * 31 + "x" + "{% endif %}" * 31
    error = check_syntax(source)
    assert isinstance(error, TemplateSyntaxError)
    assert str(error) == "line 2: blocks are nested more than 30 deep"
    assert check_syntax("{% if customer %}" * 30 + "x" + "{% endif %}" * 30) is None


def test_a_template_longer_than_the_limit_is_refused() -> None:
    error = check_syntax("x" * 200_001)
    assert error is not None and str(error) == "the template has 200,001 characters; at most 200,000 are allowed"


# -- syntax, at save time --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("Hi\n{{ customer.first_name | }}", "line 2: expected word, found end of expression"),
        ("<p>\n\n{% if customer.vip %}\nGold", "line 3: 'if' is never closed; add {% endif %}"),
        ("a\n{% endif %}", "line 2: unexpected tag 'endif'"),
        ("{{ order.total | mony }}", "line 1: unknown filter 'mony'; did you mean 'money'?"),
        ("{{ x | xyzzy }}", "line 1: unknown filter 'xyzzy'"),
        ("x\n\n{% include 'footer' %}", "line 3: unexpected tag 'include'"),
        ("{% render 'footer' %}", "line 1: unexpected tag 'render'"),
        ('{{ "unclosed }}', "line 1: unexpected '\"'"),
    ],
)
def test_syntax_errors_name_the_line_and_the_problem(source: str, message: str) -> None:
    error = check_syntax(source)
    assert isinstance(error, TemplateSyntaxError) and error.code == "template.syntax"
    assert str(error) == message
    with pytest.raises(TemplateSyntaxError):
        TEMPLATES.render(source, TemplateContext({}, UTC, NOW))


def test_documents_are_checked_when_saved_and_loaded_as_stored() -> None:
    """A version stored before a rule existed still loads (its messages fail one by one); a save is refused."""
    document = campaign(email_node("e1", "Hi {{ customer.first_name | mony }}"), edges=[("trigger", "e1")])
    with pytest.raises(DocumentInvalid) as caught:
        parse_document(document)
    assert caught.value.details == [
        {"node": "e1", "field": "config.subject", "message": "line 1: unknown filter 'mony'; did you mean 'money'?"}
    ]
    stored = CampaignDocument.model_validate(document)
    with pytest.raises(TemplateSyntaxError):
        TEMPLATES.render(stored.node("e1").config.subject, TemplateContext({}, UTC, NOW))


def test_good_templates_pass_and_are_parsed_once() -> None:
    source = "Hi {{ customer.first_name | default: 'friend' }}{% for l in order.lines %}{{ l.sku }}{% endfor %}"
    assert check_syntax(source) is None
    assert TEMPLATES.parse(source) is TEMPLATES.parse(source)


def test_an_edited_template_renders_its_new_text() -> None:
    templates = Templates()
    assert render("Hi {{ customer.first_name }}", templates, customer={"first_name": "Ann"}) == "Hi Ann"
    assert render("Hello {{ customer.first_name }}", templates, customer={"first_name": "Ann"}) == "Hello Ann"


# -- the plan: text and plain lookups written directly, the same as python-liquid writes them ---------------------

#: Values a lookup can meet, each with a path that leads to it; the plan writes some directly and leaves the rest to
#: python-liquid, and either way the text must be python-liquid's own.
LOOKED_UP: list[tuple[str, dict[str, Any]]] = [
    ("{{ customer.first_name }}", {"customer": {"first_name": "Ann <b>&"}}),
    ("{{ customer.points }}", {"customer": {"points": 120}}),
    ("{{ customer.points }}", {"customer": {"points": -3.25}}),
    ("{{ customer.points }}", {"customer": {"points": 10**120}}),
    ("{{ customer.vip }}", {"customer": {"vip": True}}),
    ("{{ customer.vip }}", {"customer": {"vip": False}}),
    ("{{ customer.phone }}", {"customer": {"phone": None}}),
    ("{{ customer.phone }}", {"customer": {}}),
    ("{{ customer.phone }}", {}),
    ("{{ customer.tags }}", {"customer": {"tags": ["a", "b", 3]}}),
    ("{{ customer.tags.size }}", {"customer": {"tags": ["a", "b"]}}),
    ("{{ customer.tags.first }}", {"customer": {"tags": ["a", "b"]}}),
    ("{{ customer.size }}", {"customer": {"a": 1, "b": 2}}),
    ("{{ customer.size }}", {"customer": {"size": "XL"}}),
    ("{{ customer.name.first }}", {"customer": {"name": "Ann"}}),
    ("{{ customer.attributes.shoe_size }}", {"customer": {"attributes": {"shoe_size": 42}}}),
    ("{{ customer }}", {"customer": {"first_name": "Ann"}}),
    ("{{ customer.birthday }}", {"customer": {"birthday": date(1990, 5, 17)}}),
    ("{{ customer.balance }}", {"customer": {"balance": Decimal("10.50")}}),
    ("{{ unsubscribe_url }}", {"unsubscribe_url": "https://t.example/u/1.abc"}),
    ("{{ customer.first_name }}", {"customer": "Ann"}),
]


@pytest.mark.parametrize(("source", "variables"), LOOKED_UP)
def test_a_lookup_writes_what_python_liquid_writes(source: str, variables: dict[str, Any]) -> None:
    liquid = Environment()  # python-liquid as it comes: an undefined renders as nothing, as ours does
    expected = liquid.from_string(source).render(**variables)
    assert render(source, **variables) == expected  # a plain template
    assert render("{% if true %}{% endif %}" + source, **variables) == expected  # beside a tag
    assert TEMPLATES.preview(source, TemplateContext(variables, RIGA, NOW)).text == expected


def test_a_name_an_assign_shadows_is_the_assigned_value() -> None:
    source = "{{ customer.first_name }} {% assign customer = other %}{{ customer.first_name }}"
    variables: dict[str, Any] = {"customer": {"first_name": "Ann"}, "other": {"first_name": "Bob"}}
    assert render(source, **variables) == "Ann Bob"


def test_the_output_limit_holds_for_plain_templates() -> None:
    templates = Templates(Limits(output_chars=10))
    assert render("{{ a }}{{ a }}", templates, a="12345") == "1234512345"
    for tag in ("", "{% if true %}{% endif %}"):  # a plain template, and a run beside a tag
        error = limit_of(tag + "{{ a }}\n{{ a }}!", templates, a="12345")
        assert (error.limit, error.line) == ("output_chars", 2)


# -- variables and filters -------------------------------------------------------------------------------------


def test_a_missing_variable_renders_as_an_empty_string() -> None:
    customer = {"first_name": "Ann"}
    assert render("Hi {{ customer.nickname }}!", customer=customer) == "Hi !"
    assert render("Hi {{ nobody.at.all }}!") == "Hi !"
    assert render("{% if customer.vip %}gold{% else %}plain{% endif %}", customer=customer) == "plain"
    assert render("{{ customer.nickname | default: customer.first_name }}", customer=customer) == "Ann"
    assert render("[{{ customer.tags[5] }}]", customer={"tags": ["a"]}) == "[]"
    assert render("{{ customer.phone }}|{{ customer.phone | upcase }}", customer={"phone": None}) == "|"


def test_a_preview_warns_about_each_missing_variable_once_per_line() -> None:
    source = (
        "Hi {{ customer.nickname }}{{ customer.nickname }}\n{% if customer.vip %}{% endif %}{{ customer.nickname }}"
    )
    rendered = TEMPLATES.preview(source + "\n{{ first }}", TemplateContext({"customer": {}}, UTC, NOW))
    assert rendered.text == "Hi \n\n"
    assert [(w.line, w.problem) for w in rendered.warnings] == [
        (1, "customer.nickname is not defined; it rendered as empty"),
        (2, "customer.vip is not defined; it rendered as empty"),
        (2, "customer.nickname is not defined; it rendered as empty"),
        (3, "first is not defined; it rendered as empty"),
    ]
    loops = TEMPLATES.preview("{% for i in (1..2) %}{{ forloop.index }}{% endfor %}", TemplateContext({}, UTC, NOW))
    assert (loops.text, loops.warnings) == ("12", [])


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (1234.5, None, "1234.50"),
        (1234.5, "EUR", "1234.50 EUR"),
        (0.125, None, "0.13"),  # half up
        (2.675, None, "2.68"),  # as written, not as the float is stored
        (-0.001, None, "0.00"),
        (-10, "USD", "-10.00 USD"),
        ("99.9", None, "99.90"),
        (Decimal("10.005"), None, "10.01"),
        (None, "EUR", ""),
    ],
)
def test_money_has_two_decimals_and_an_optional_currency(value: Any, currency: str | None, expected: str) -> None:
    argument = "" if currency is None else f": '{currency}'"
    assert render(f"{{{{ amount | money{argument} }}}}", amount=value) == expected


def test_money_of_something_that_is_not_a_number_is_a_clear_error() -> None:
    with pytest.raises(TemplateRenderError) as caught:
        render("<p>\n{{ customer.city | money }}", customer={"city": "Riga"})
    assert str(caught.value) == "line 2: money expects a number, found 'Riga'"
    assert render("{{ customer.missing | money }}", customer={}) == ""


def test_dates_are_formatted_in_the_customers_time_zone() -> None:
    late = datetime(2026, 1, 5, 23, 30, tzinfo=UTC)
    assert render("{{ t | date: '%d.%m.%Y %H:%M' }}", t=late) == "06.01.2026 01:30"  # Riga is UTC+2
    assert render("{{ t | date: '%d.%m.%Y %H:%M' }}", tz=ZoneInfo("America/New_York"), t=late) == "05.01.2026 18:30"
    assert render("{{ t | date }}", t=late) == "2026-01-06 01:30"
    assert render("{{ d | date: '%d %B' }}", d=date(1990, 5, 17)) == "17 May"
    assert render("{{ 'now' | date: '%H:%M' }} {{ 'today' | date: '%d.%m' }}") == "12:00 05.01"  # the given clock
    assert render("{{ '2026-03-01T09:00:00Z' | date: '%H:%M' }}") == "11:00"
    assert render("{{ '2026-03-01' | date: '%d/%m/%Y' }}") == "01/03/2026"
    assert render("{{ 'not a date' | date: '%Y' }}|{{ nothing | date: '%Y' }}") == "not a date|"


def test_renders_in_many_threads_keep_their_own_limits_and_time_zones() -> None:
    late = datetime(2026, 1, 5, 23, 30, tzinfo=UTC)
    zones = [ZoneInfo("Europe/Riga"), ZoneInfo("Asia/Tokyo"), ZoneInfo("America/New_York"), UTC] * 50

    def one(tz: ZoneInfo) -> str:
        return render("{% for i in (1..50) %}{% endfor %}{{ t | date: '%H' }}", tz=tz, t=late)

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(one, zones)) == [late.astimezone(tz).strftime("%H") for tz in zones]


def test_every_error_is_a_template_error_with_a_stable_code() -> None:
    with pytest.raises(TemplateError) as caught:
        render("{{ 1 | divided_by: 0 }}")
    assert (caught.value.code, caught.value.http_status) == ("template.render", 422)
    assert caught.value.details == {"line": 1, "column": 8, "problem": "divided_by: can't divide by 0"}
    with pytest.raises(TemplateRenderError) as caught:
        render("{% break %}")
    assert str(caught.value) == "line 1: unexpected 'break' outside a loop"


# -- the variables of a chunk of messages (both databases) -------------------------------------------------------


@pytest.fixture
def sent(services: Services) -> Iterator[dict[str, Any]]:
    """Three customers who registered (an event with properties) and got a welcome e-mail queued."""
    set_timezone(services, "Europe/Riga")
    ids = add_customers(
        services,
        {
            "external_id": "ann",
            "email": "ann@example.com",
            "first_name": "Ann",
            "last_name": "Lee",
            "city": "Riga",
            "birthday": "1990-05-17",
            "store_code": "S1",
            "attributes": {"tier": "gold", "email": "not the system field", "visits": 3},
            "timezone": "America/New_York",
        },
        {"external_id": "bob", "email": "bob@example.com", "first_name": "Bob"},
        {"external_id": "cid", "email": "cid@example.com"},
    )
    with services.db.engine.begin() as conn:
        conn.execute(stores.insert().values(code="S1", name="Main Street", city="Riga"))
    trigger = {"id": "trigger", "type": "event_occurred", "config": {"event": "registration"}}
    campaign_id = start(services, campaign(email_node("e1"), edges=[("trigger", "e1")], trigger=trigger))
    post_events(
        services,
        (ids["ann"], "registration", {"source": "app", "coupon": {"code": "HELLO10", "value": 10.5}}),
        (ids["bob"], "registration", {"source": "web"}),
        (ids["cid"], "registration", {}),
    )
    advance(services, minutes=1)
    with services.db.engine.connect() as conn:
        rows = conn.execute(
            select(messages.c.id, messages.c.customer_id, messages.c.campaign_id, messages.c.entry_id)
        ).all()
    refs = [MessageRef(row.id, row.customer_id, row.campaign_id, row.entry_id) for row in rows]
    yield {"ids": ids, "campaign_id": campaign_id, "refs": refs}


def contexts_of(services: Services, refs: list[MessageRef]) -> dict[int, TemplateContext]:
    with services.db.engine.connect() as conn:
        return build_contexts(
            conn,
            services.db.dialect,
            refs,
            timezone=load_account(conn).timezone,
            now=services.clock.now(),
            unsubscribe_url=lambda message_id: f"https://u/{message_id}",
        )


def by_customer(services: Services, sent: dict[str, Any]) -> dict[str, TemplateContext]:
    contexts = contexts_of(services, sent["refs"])
    names = {customer_id: name for name, customer_id in sent["ids"].items()}
    return {names[ref.customer_id]: contexts[ref.message_id] for ref in sent["refs"]}


def test_customer_campaign_and_event_variables(services: Services, sent: dict[str, Any]) -> None:
    assert len(sent["refs"]) == 3
    ann = by_customer(services, sent)["ann"]
    source = (
        "{{ customer.full_name }} ({{ customer.external_id }}) of {{ customer.city }}, {{ customer.store }} "
        "[{{ customer.store_code }}], born {{ customer.birthday | date: '%d.%m' }}, {{ customer.points }} points; "
        "{{ campaign.name }} #{{ campaign.id }}; {{ event.name }} from {{ event.properties.source }} with "
        "{{ event.properties.coupon.code }} worth {{ event.properties.coupon.value | money: 'EUR' }}; "
        "{{ unsubscribe_url }} {{ preferences_url }}"
    )
    message_id = next(ref.message_id for ref in sent["refs"] if ref.customer_id == sent["ids"]["ann"])
    assert TEMPLATES.render(source, ann) == (
        f"Ann Lee (ann) of Riga, Main Street [S1], born 17.05, 0 points; Test campaign #{sent['campaign_id']}; "
        f"registration from app with HELLO10 worth 10.50 EUR; https://u/{message_id} https://u/{message_id}"
    )


def test_custom_attributes_by_code_where_system_fields_win(services: Services, sent: dict[str, Any]) -> None:
    contexts = by_customer(services, sent)
    source = "{{ customer.tier }}/{{ customer.visits | plus: 1 }}/{{ customer.email }}/{{ customer.attributes.email }}"
    assert TEMPLATES.render(source, contexts["ann"]) == "gold/4/ann@example.com/not the system field"
    assert TEMPLATES.render(source, contexts["bob"]) == "/1/bob@example.com/"


def test_time_zone_is_the_customers_else_the_accounts(services: Services, sent: dict[str, Any]) -> None:
    contexts = by_customer(services, sent)
    assert contexts["ann"].timezone == ZoneInfo("America/New_York")
    assert contexts["bob"].timezone == ZoneInfo("Europe/Riga")
    source = "{{ event.occurred_at | date: '%H:%M %Z' }} / {{ 'now' | date: '%H:%M' }}"
    assert TEMPLATES.render(source, contexts["ann"]) == "05:00 EST / 05:01"  # 10:00 UTC; the clock moved 1 min
    assert TEMPLATES.render(source, contexts["bob"]) == "12:00 EET / 12:01"


def test_missing_customer_data_renders_empty(services: Services, sent: dict[str, Any]) -> None:
    cid = by_customer(services, sent)["cid"]
    source = "[{{ customer.first_name }}|{{ customer.full_name }}|{{ customer.birthday | date: '%d' }}|{{ order.id }}]"
    assert TEMPLATES.render(source, cid) == "[|||]"
    assert TEMPLATES.render("{{ event.properties.coupon.code }}|{{ context.promo }}", cid) == "|"


def test_a_chunk_costs_the_same_few_queries_whatever_its_size(services: Services, sent: dict[str, Any]) -> None:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(services.db.engine, "before_cursor_execute", count)
    try:
        contexts_of(services, sent["refs"][:1])
        one = len(statements)
        statements.clear()
        contexts_of(services, sent["refs"])
        assert len(statements) == one <= 6
    finally:
        event.remove(services.db.engine, "before_cursor_execute", count)


def test_a_deleted_customer_gets_no_context(services: Services, sent: dict[str, Any]) -> None:
    ghost = MessageRef(message_id=999_999, customer_id=987_654, campaign_id=None, entry_id=None)
    assert set(contexts_of(services, [*sent["refs"], ghost])) == {ref.message_id for ref in sent["refs"]}


def test_order_variables_with_lines(services: Services, sent: dict[str, Any]) -> None:
    with services.db.engine.begin() as conn:
        conn.execute(products.insert().values(sku="SKU-1", name="Red shoes", category_code="shoes", price=50))
        inserted = conn.execute(
            orders.insert().values(
                external_id="A-17",
                kind="order",
                customer_id=sent["ids"]["ann"],
                status="paid",
                total=Decimal("120.50"),
                placed_at=datetime(2026, 1, 4, 22, 15, tzinfo=UTC),
            )
        ).inserted_primary_key
        assert inserted is not None
        order_id = inserted[0]
        conn.execute(
            order_lines.insert(),
            [
                {"order_id": order_id, "sku": "SKU-1", "quantity": 2, "price": 50, "amount": 100},
                {"order_id": order_id, "sku": "GIFT", "quantity": 1, "price": Decimal("20.5"), "amount": 20.5},
            ],
        )
        order = order_variables(conn, [order_id], ZoneInfo("Europe/Riga"))[order_id]
    source = (
        "Order {{ order.id }} ({{ order.status }}) of {{ order.placed_at | date: '%d.%m %H:%M' }}: "
        "{% for line in order.lines %}{{ line.quantity }} × {{ line.name | default: line.sku }} "
        "= {{ line.amount | money }}; {% endfor %}total {{ order.total | money: 'EUR' }}"
    )
    assert render(source, order=order) == (
        "Order A-17 (paid) of 05.01 00:15: 2 × Red shoes = 100.00; 1 × GIFT = 20.50; total 120.50 EUR"
    )
