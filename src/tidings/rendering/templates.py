"""Customer-authored text (subjects, bodies, SMS, push, popups, notes) is Liquid, rendered in a sandbox.

Public API
    ``Templates(limits)``                one per process (``default_templates()``), thread-safe, parses each source
                                         once (bounded LRU cache)
    ``Templates.render(source, ctx)``    the text, or a ``TemplateError`` subclass naming the line and the problem
    ``Templates.preview(source, ctx)``   the text plus a warning for each variable that was missing
    ``check_syntax(source)``             ``None`` or the ``TemplateSyntaxError`` a save must refuse
    ``SaveCheck()(source)``              what a save of a document refuses: the syntax, then a limit a render
                                         exceeds even without any data (it would fail every message)

The variables a message sees (``TemplateContext``) are made by ``rendering.variables``.

A variable that does not exist renders as an empty string (and is false in ``{% if %}``); previews report it as a
warning. Output is not HTML-escaped, as everywhere in Liquid: use ``| escape`` for text a customer typed.

Filters (besides Liquid's standard ones)
    ``money``   ``{{ order.total | money }}`` → ``1234.50``; ``{{ order.total | money: "EUR" }}`` → ``1234.50 EUR``
                (two decimals, half up)
    ``date``    ``{{ order.placed_at | date: "%d.%m.%Y %H:%M" }}`` in the customer's time zone; ``"now"`` and
                ``"today"`` are the delivery's clock; without a format: ``%Y-%m-%d`` (``%Y-%m-%d %H:%M`` for a time)
    ``poll_link`` ``{{ 'POLL-1' | poll_link }}`` (or ``{{ 1 | poll_link }}``) → the customer's personal signed link to
                poll POLL-1, in any channel; empty where no customer is rendered for (the check at save)
``include`` and ``render`` are not available: there are no partial templates, so no recursion.

Limits (``Limits``), each failing the render with ``TemplateLimitExceeded`` naming the limit
    source_chars       template length, refused at save time
    nesting_depth      nested blocks (refused at save time) and nested scopes at render time
    loop_iterations    one loop nest (inner × outer), checked when a loop starts (python-liquid)
    total_iterations   all loop iterations of one render together
    output_chars       the rendered text (captures included)
    value_chars        any value a filter takes or makes, and the text a ``join`` / ``replace`` would make
                       (checked before it is made), lists counted deep
    number_digits      any number a filter takes or makes (so that no multiplication takes long)
    assigned_chars     all ``assign`` / ``capture`` variables together, counted deep
    render_seconds     wall time of one render
The time limit is checked inside the render, never by a signal or another thread (renders run in worker threads):
at every loop iteration and before every filter call given a large value (a list, a text over 1,000
characters). Between two checks a template can only do a bounded amount of work, because the other limits bound
every value, the source is bounded and there is no recursion. Measured cost: about 0.7 µs per loop iteration;
a typical e-mail without loops renders as fast as with python-liquid unguarded.

Errors (``code``, all 422 when they reach the API)
    TemplateError (template.invalid)                 [tidings.core.errors.InvalidInput]
    ├── TemplateSyntaxError (template.syntax)        the source cannot be parsed; refused at save time
    └── TemplateRenderError (template.render)        a filter failed on this customer's data
        └── TemplateLimitExceeded (template.limit_exceeded)
Each carries ``line`` and ``column`` (when known) and ``problem``; ``str(error)`` is ``"line 3: …"``.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from io import StringIO
from typing import Any, Protocol, Self

from liquid import Environment
from liquid.builtin.tags.for_tag import ForLoop
from liquid.builtin.tags.tablerow_tag import TableRow
from liquid.context import RenderContext, builtin
from liquid.exceptions import (
    BlockNestingError,
    ContextDepthError,
    FilterArgumentError,
    LiquidError,
    LiquidInterrupt,
    LiquidSyntaxError,
    LocalNamespaceLimitError,
    LoopIterationLimitError,
    ResourceLimitError,
    StopRender,
)
from liquid.filter import with_context
from liquid.template import BoundTemplate
from liquid.token import Token
from liquid.undefined import UNDEFINED, Undefined, is_undefined
from liquid.utils import ReadOnlyChainMap

from tidings.core.errors import InvalidInput
from tidings.model.templates import MAX_BODY_CHARS
from tidings.rendering.plan import Plan, Run

# -- errors ------------------------------------------------------------------------------------------------------


class TemplateError(InvalidInput):
    code = "template.invalid"

    def __init__(self, problem: str, *, line: int | None = None, column: int | None = None) -> None:
        self.problem = problem
        self.line = line
        self.column = column
        where = f"line {line}: " if line is not None else ""
        super().__init__(f"{where}{problem}", details={"line": line, "column": column, "problem": problem})

    def in_field(self, field: str) -> Self:
        """This error, saying which of several templates (``subject``, ``body``) it is about."""
        self.message = f"{field}: {self.message}"
        self.details = {"field": field, **self.details}
        return self


class TemplateSyntaxError(TemplateError):
    code = "template.syntax"


class TemplateRenderError(TemplateError):
    code = "template.render"


class TemplateLimitExceeded(TemplateRenderError):
    code = "template.limit_exceeded"

    def __init__(self, limit: str, problem: str, *, line: int | None = None, column: int | None = None) -> None:
        self.limit = limit
        super().__init__(problem, line=line, column=column)
        self.details["limit"] = limit


# -- limits ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    source_chars: int = MAX_BODY_CHARS
    nesting_depth: int = 30
    loop_iterations: int = 10_000
    total_iterations: int = 100_000
    output_chars: int = 1_000_000
    value_chars: int = 1_000_000
    number_digits: int = 1_000
    assigned_chars: int = 500_000
    render_seconds: float = 0.5


class _Exceeded(ResourceLimitError):
    """Raised inside a render; a LiquidError so that python-liquid attaches the statement's position."""

    def __init__(self, limit: str, problem: str) -> None:
        super().__init__(problem, token=None)
        self.limit = limit


@dataclass(slots=True)
class _Run:
    """The state of one render: its budget, its clock and the customer's time zone."""

    limits: Limits
    deadline: float
    timezone: tzinfo
    now: datetime
    iterations: int = 0

    def check_time(self) -> None:  # at every loop iteration (inlined in _metered) and filter call
        if time.monotonic() > self.deadline:
            raise _Exceeded(
                "render_seconds", f"rendering took longer than {self.limits.render_seconds:g} s and was stopped"
            )


# -- the render context and output --------------------------------------------------------------------------------


def _text_size(value: object, budget: int) -> int:
    """The text ``value`` stands for, counted deep (a list holding one string twice counts it twice); stops
    counting once past ``budget``."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (list, tuple)):
        total = len(value)
        for item in value:
            if total > budget:
                break
            total += _text_size(item, budget - total)
        return total
    if isinstance(value, dict):
        total = len(value)
        for key, item in value.items():
            if total > budget:
                break
            total += _text_size(key, budget) + _text_size(item, budget - total)
        return total
    if isinstance(value, range):
        return len(value)
    if isinstance(value, int):
        return value.bit_length() // 3 + 1  # about its decimal digits
    return 8


class _Output(StringIO):
    """The output buffer, refusing to grow past the output limit (a capture's buffer gets what is left)."""

    def __init__(self, limits: Limits, limit: int) -> None:
        super().__init__()
        self.limits = limits
        self.limit = limit

    def write(self, text: str, _write: Callable[[StringIO, str], int] = StringIO.write) -> int:
        if self.tell() + len(text) > self.limit:
            raise _Exceeded(
                "output_chars", f"the rendered text passed the limit of {self.limits.output_chars:,} characters"
            )
        return _write(self, text)


class _Scope(ReadOnlyChainMap):
    """python-liquid's scope chain, looking a name up without raising KeyError from every map that lacks it."""

    def __getitem__(self, key: str) -> object:
        for mapping in self._maps:
            if key in mapping:
                return mapping[key]
        raise KeyError(key)


def _metered(items: Iterator[Any], run: _Run) -> Iterator[Any]:
    limit, deadline, clock = run.limits.total_iterations, run.deadline, time.monotonic
    for item in items:
        run.iterations += 1
        if run.iterations > limit:
            raise _Exceeded("total_iterations", f"loops ran more than {limit:,} iterations in all")
        if clock() > deadline:
            run.check_time()  # raises, saying so
        yield item


class _Context(RenderContext):
    """python-liquid's render context, metering every loop iteration and counting variables deep."""

    __slots__ = ("run",)
    run: _Run

    @contextmanager
    def loop(self, namespace: Mapping[str, object], forloop: ForLoop | TableRow) -> Iterator[RenderContext]:
        forloop.it = _metered(forloop.it, self.run)
        with super().loop(namespace, forloop) as context:
            yield context

    def get_buffer(self, buf: Any = None) -> StringIO:
        used = buf.tell() if isinstance(buf, _Output) else 0
        return _Output(self.run.limits, self.run.limits.output_chars - used)

    def get_size_of_locals(self) -> int:
        limit = self.run.limits.assigned_chars
        return self.local_namespace_size_carry + sum(_text_size(value, limit) for value in self.locals.values())

    def copy(self, *args: Any, **kwargs: Any) -> RenderContext:
        copied = super().copy(*args, **kwargs)
        assert isinstance(copied, _Context)
        copied.run = self.run
        return copied


_missing: ContextVar[list[Undefined] | None] = ContextVar("tidings_missing_variables", default=None)


class _Undefined(Undefined):
    """Renders as nothing, like Liquid's own; during a preview it also notes that it was missing."""

    __slots__ = ()

    def __init__(self, name: str, *, token: Token | None = None, obj: object = UNDEFINED, hint: str | None = None):
        super().__init__(name, token=token, obj=obj, hint=hint)
        seen = _missing.get()
        if seen is not None and hint is not None:  # a variable lookup (not e.g. the loop helper's parentloop)
            seen.append(self)


# -- filters -------------------------------------------------------------------------------------------------------

_CENT = Decimal("0.01")


def money(value: object, currency: object = None) -> str:
    """``1234.5`` → ``1234.50``; with a currency code: ``1234.50 EUR``. Nothing for a missing value."""
    if value is None or is_undefined(value) or value == "":
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise FilterArgumentError(f"money expects a number, found {type(value).__name__}", token=None)
    try:
        amount = Decimal(str(value).strip()).quantize(_CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise FilterArgumentError(f"money expects a number, found {str(value)[:40]!r}", token=None) from None
    if not amount.is_finite():
        raise FilterArgumentError(f"money expects a finite number, found {value!r}", token=None)
    text = f"{amount + 0:f}"  # + 0 turns -0.00 into 0.00
    if currency is None or is_undefined(currency) or currency == "":
        return text
    return f"{text} {currency}"


@with_context
def date_filter(value: object, fmt: object = None, *, context: RenderContext) -> object:
    """Format a date or date-time in the customer's time zone (``now`` / ``today`` is the delivery's clock)."""
    if value is None or is_undefined(value) or value == "":
        return ""
    run: _Run = context.run  # type: ignore[attr-defined]
    moment = _moment(value, run)
    if moment is None:
        return value  # like Liquid: text that is not a date is left as it is
    if fmt is None or is_undefined(fmt) or fmt == "":
        fmt = "%Y-%m-%d %H:%M" if isinstance(moment, datetime) else "%Y-%m-%d"
    try:
        return moment.strftime(str(fmt))
    except ValueError as error:
        raise FilterArgumentError(f"date: {error}", token=None) from None


def _moment(value: object, run: _Run) -> date | datetime | None:
    if isinstance(value, str):
        text = value.strip()
        if text in ("now", "today"):
            return run.now.astimezone(run.timezone)
        if text.isdigit():
            value = int(text)
        else:
            try:
                value = date.fromisoformat(text) if len(text) <= 10 else datetime.fromisoformat(text)
            except ValueError:
                return None
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(run.timezone)
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        try:
            return datetime.fromtimestamp(value, UTC).astimezone(run.timezone)
        except (OverflowError, OSError, ValueError):
            return None
    return None


_current_run: ContextVar[_Run | None] = ContextVar("tidings_render", default=None)


#: A text at most this long, a number within the digit limit, a float, a boolean or nothing: a filter given only
#: such values does little work, so neither the clock nor the size of what it would make is checked before it runs.
_SMALL_TEXT = 1_000


def _guarded(name: str, func: Callable[..., Any], limits: Limits) -> Callable[..., Any]:
    """``func`` checking the clock, refusing values past ``value_chars`` and numbers past ``number_digits``, and
    refusing to let ``join`` / ``replace`` make a text past ``value_chars``."""
    limit = limits.value_chars
    max_bits = math.ceil(limits.number_digits * math.log2(10))
    joins, replaces = name == "join", name == "replace"

    def small(value: Any) -> bool:
        kind = value.__class__
        if kind is str:
            return len(value) <= _SMALL_TEXT
        if kind is int:
            return bool(value.bit_length() <= max_bits)
        return kind is float or kind is bool or value is None

    def too_long(what: str) -> _Exceeded:
        return _Exceeded("value_chars", f"{name}: {what} would pass the limit of {limit:,} characters")

    def refuse_big(value: object, what: str) -> None:
        if isinstance(value, int) and value.bit_length() > max_bits:
            raise _Exceeded("number_digits", f"{name}: {what} has more than {limits.number_digits:,} digits")
        if _text_size(value, limit) > limit:
            raise too_long(what)

    def check_before(value: object, args: tuple[object, ...]) -> None:
        run = _current_run.get()
        if run is not None:
            run.check_time()
        for argument in (value, *args):
            refuse_big(argument, "a value")
        if joins and isinstance(value, (list, tuple, range)):
            separator = args[0] if args else " "
            if _text_size(value, limit) + len(value) * len(str(separator)) > limit:
                raise too_long("the joined text")
        elif replaces and isinstance(value, str) and args:
            old, new = str(args[0]), str(args[1]) if len(args) > 1 else ""
            count = len(value) + 1 if old == "" else value.count(old)
            if len(value) + count * len(new) > limit:
                raise too_long("the replaced text")

    @functools.wraps(func)
    def guarded(value: object, *args: object, **kwargs: object) -> object:
        if not small(value) or (args and not all(map(small, args))):
            check_before(value, args)
        result = func(value, *args, **kwargs)
        if not small(result):
            refuse_big(result, "its result")
        return result

    return guarded


class PollLinkMaker(Protocol):
    """Makes a customer's signed poll link (``delivery.poll_links.PollLinks``; the composition root hands it in)."""

    def url(self, code: str, external_id: str) -> str: ...


_POLL_CODE = re.compile(r"POLL-[1-9][0-9]{0,18}")
_poll_links: list[PollLinkMaker] = []


def use_poll_links(links: PollLinkMaker | None) -> None:
    """Let ``poll_link`` make links with ``links`` in this process (None: it renders empty)."""
    _poll_links[:] = [links] if links is not None else []


@with_context
def poll_link(value: object, *, context: RenderContext) -> str:
    """``{{ 'POLL-1' | poll_link }}``: the personal link of the customer being rendered to poll POLL-1."""
    code = f"POLL-{value}" if isinstance(value, int) and not isinstance(value, bool) else value
    code = code.strip().upper() if isinstance(code, str) else code
    if not isinstance(code, str) or not _POLL_CODE.fullmatch(code):
        raise FilterArgumentError(
            f"poll_link takes a poll code such as 'POLL-1' (or its number), not {value!r}", token=None
        )
    customer = context.resolve("customer", default=None)
    external_id = customer.get("external_id") if isinstance(customer, Mapping) else None
    if not _poll_links or not isinstance(external_id, str) or not external_id:
        return ""
    return _poll_links[0].url(code, external_id)


# -- the environment -------------------------------------------------------------------------------------------------

_UNCLOSED = re.compile(r"expected tag (end\w+), found end of (?:expression|file)")


class _Environment(Environment):
    """python-liquid, strict, with our filters, without partials, and with positions on every parse error."""

    def __init__(self, limits: Limits) -> None:
        super().__init__(undefined=_Undefined, strict_filters=True)
        for partial_tag in ("include", "render"):
            self.tags.pop(partial_tag, None)
        self.filters["money"] = money
        self.filters["date"] = date_filter
        self.filters["poll_link"] = poll_link
        self.filters = {name: _guarded(name, func, limits) for name, func in self.filters.items()}
        for tag in self.tags.values():
            _locate_parse_errors(tag)


def _locate_parse_errors(tag: Any) -> None:
    """A parse error found at the end of an expression carries no position; give it the statement's."""
    get_node = tag.get_node

    def located(stream: Any) -> Any:
        token = stream.current
        try:
            return get_node(stream)
        except LiquidError as error:
            if error.token is None or error.token.start_index < 0:
                error.token = token
            raise

    tag.get_node = located


def _environment_class(limits: Limits) -> type[_Environment]:
    attributes: dict[str, object] = {
        "block_nesting_limit": limits.nesting_depth,
        "context_depth_limit": limits.nesting_depth,
        "loop_iteration_limit": limits.loop_iterations,
        "local_namespace_limit": limits.assigned_chars,
        "output_stream_limit": None,  # counted by _Output, in characters
    }
    return type("TidingsEnvironment", (_Environment,), attributes)


def _position(token: Token | None) -> tuple[int | None, int | None]:
    if token is None or token.start_index < 0 or not token.source:
        return None, None
    index = min(token.start_index, len(token.source))
    line = token.source.count("\n", 0, index) + 1
    return line, index - (token.source.rfind("\n", 0, index) + 1) + 1


_LIMIT_PROBLEMS: dict[type[LiquidError], tuple[str, Callable[[Limits], str]]] = {
    LoopIterationLimitError: (
        "loop_iterations",
        lambda limits: f"a loop would run more than {limits.loop_iterations:,} iterations (nested loops multiply)",
    ),
    LocalNamespaceLimitError: (
        "assigned_chars",
        lambda limits: f"assigned and captured variables passed {limits.assigned_chars:,} characters",
    ),
    ContextDepthError: ("nesting_depth", lambda limits: f"scopes are nested more than {limits.nesting_depth} deep"),
}


# -- templates ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TemplateContext:
    """What one message's templates see: the variables, the customer's time zone and the delivery's clock."""

    variables: Mapping[str, object]
    timezone: tzinfo
    now: datetime


@dataclass(frozen=True, slots=True)
class TemplateWarning:
    line: int | None
    problem: str


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    warnings: list[TemplateWarning] = field(default_factory=list)


class Templates:
    """Parses (once, cached) and renders Liquid sources within ``limits``. Thread-safe; share one per process."""

    def __init__(self, limits: Limits | None = None, *, cache_size: int = 4096) -> None:
        self.limits = limits or Limits()
        self.environment = _environment_class(self.limits)(self.limits)
        self._parse_cached = functools.lru_cache(maxsize=cache_size)(self._parse_uncached)

    def parse(self, source: str) -> BoundTemplate:
        """The parsed template; raises ``TemplateSyntaxError`` for a syntax error, a template too long or nested
        too deep, or an unknown filter."""
        return self._parse_cached(source)[0]

    def check(self, source: str) -> TemplateSyntaxError | None:
        """What a save must refuse ``source`` with, or None."""
        try:
            self.parse(source)
        except TemplateSyntaxError as error:
            return error
        return None

    def render(self, source: str, context: TemplateContext) -> str:
        """The rendered text; raises a ``TemplateError`` (syntax, a failing filter or an exceeded limit)."""
        template, plan = self._parse_cached(source)
        text = plan.render_plain(context.variables)
        if text is not None and len(text) <= self.limits.output_chars:
            return text
        return self._render(template, plan, context)

    def preview(self, source: str, context: TemplateContext) -> Rendered:
        """Like ``render``, with a warning for every variable the template read that does not exist."""
        template, plan = self._parse_cached(source)
        seen: list[Undefined] = []
        token = _missing.set(seen)
        try:
            text = self._render(template, plan, context)
        finally:
            _missing.reset(token)
        warnings: dict[tuple[int | None, str], None] = {}
        for undefined in seen:
            hint = undefined.hint or ""
            if hint.endswith(" is undefined"):
                problem = f"{hint.removesuffix(' is undefined').strip(chr(39))} is not defined; it rendered as empty"
            else:
                problem = f"{undefined.name}: {hint}; it rendered as empty"
            warnings[(_position(undefined.token)[0], problem)] = None
        return Rendered(text, [TemplateWarning(line, problem) for line, problem in warnings])

    # -- internals ------------------------------------------------------------------------------------------------

    def _parse_uncached(self, source: str) -> tuple[BoundTemplate, Plan]:
        if len(source) > self.limits.source_chars:
            raise TemplateSyntaxError(
                f"the template has {len(source):,} characters; at most {self.limits.source_chars:,} are allowed"
            )
        try:
            template = self.environment.from_string(source)
        except BlockNestingError as error:
            line, column = _position(error.token)
            raise TemplateSyntaxError(
                f"blocks are nested more than {self.limits.nesting_depth} deep", line=line, column=column
            ) from None
        except LiquidError as error:
            if isinstance(error.__cause__, RecursionError):
                raise TemplateSyntaxError("expressions are nested too deeply") from None
            line, column = _position(error.token)
            problem = str(error.message)
            unclosed = _UNCLOSED.fullmatch(problem)
            if unclosed and error.token is not None:
                problem = f"'{error.token.value}' is never closed; add {{% {unclosed.group(1)} %}}"
            raise TemplateSyntaxError(problem, line=line, column=column) from None
        except RecursionError:
            raise TemplateSyntaxError("expressions are nested too deeply") from None
        for name, spans in template.analyze(include_partials=False).filters.items():
            if name not in self.environment.filters:  # python-liquid would only say so when rendering
                index = min(span.index for span in spans)
                line = source.count("\n", 0, index) + 1
                column = index - (source.rfind("\n", 0, index) + 1) + 1
                close = difflib.get_close_matches(name, self.environment.filters, n=3)
                hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
                raise TemplateSyntaxError(f"unknown filter '{name}'{hint}", line=line, column=column)
        return template, Plan.of(template)

    def _render(self, template: BoundTemplate, plan: Plan, context: TemplateContext) -> str:
        run = _Run(self.limits, time.monotonic() + self.limits.render_seconds, context.timezone, context.now)
        render_context = _Context(template, globals=context.variables)
        render_context.run = run
        render_context.scope = _Scope(render_context.locals, render_context.globals, builtin, render_context.counters)
        buffer = _Output(self.limits, self.limits.output_chars)
        current = _current_run.set(run)
        try:
            _render_steps(plan, render_context, buffer)
        except _Exceeded as error:
            line, column = _position(error.token)
            raise TemplateLimitExceeded(error.limit, str(error.message), line=line, column=column) from None
        except LiquidError as error:
            line, column = _position(error.token)
            known = _LIMIT_PROBLEMS.get(type(error))
            if known is not None:
                raise TemplateLimitExceeded(known[0], known[1](self.limits), line=line, column=column) from None
            raise TemplateRenderError(str(error.message), line=line, column=column) from None
        except RecursionError:
            raise TemplateLimitExceeded("nesting_depth", "the template nests too deeply to render") from None
        except (ArithmeticError, ValueError, TypeError) as error:  # a filter fed something it cannot take
            raise TemplateRenderError(f"{type(error).__name__}: {error}") from None
        finally:
            _current_run.reset(current)
        return buffer.getvalue()


def _render_steps(plan: Plan, context: RenderContext, buffer: _Output) -> None:
    """``BoundTemplate.render_with_context`` in strict mode, without its extra scope (every lookup would first
    miss in it), without partials (there are none), and with each run of text and plain lookups written at once
    (``rendering.plan``). A run that answers None, or would pass the output limit, is rendered node by node: the
    same text, or the same error at the same node."""
    for step in plan.steps:
        if isinstance(step, Run):
            text = step.text(context.globals, context.locals)
            if text is not None and buffer.tell() + len(text) <= buffer.limit:
                buffer.write(text)
                continue
            nodes = step.nodes
        else:
            nodes = [step]
        for node in nodes:
            try:
                node.render(context, buffer)
            except LiquidInterrupt as interrupt:
                raise LiquidSyntaxError(f"unexpected '{interrupt}' outside a loop", token=node.token) from None
            except StopRender:
                return
            except LiquidError as error:
                if error.token is None:
                    error.token = node.token
                raise


@functools.cache
def default_templates() -> Templates:
    """The process's ``Templates`` with the default limits (what saves are checked against)."""
    return Templates()


def check_syntax(source: str) -> TemplateSyntaxError | None:
    """The error a save must refuse ``source`` with, or None."""
    return default_templates().check(source)


#: What a template sees in the render a save tries: no variables (each renders as empty), UTC, a fixed time.
_TRIAL = TemplateContext(variables={}, timezone=UTC, now=datetime(2000, 1, 1, tzinfo=UTC))


class SaveCheck:
    """The check a save runs on each template of one document: the syntax, then one render without data. A
    template that exceeds a limit even then (a loop over a long range, a render that always times out) would
    fail every message it is sent in, after costing each its render time, so the save refuses it. A render
    error that depends on the data (a filter given a customer's value) is left to the message it happens in.

    The trial renders of one document share ``budget`` seconds: a document of many slow templates is refused
    too, instead of keeping the save busy for minutes."""

    def __init__(self, templates: Templates | None = None, *, budget: float = 2.0) -> None:
        self.templates = templates or default_templates()
        self.budget = budget
        self.spent = 0.0

    def __call__(self, source: str) -> TemplateError | None:
        error = self.templates.check(source)
        if error is not None:
            return error
        if self.spent > self.budget:
            return TemplateLimitExceeded(
                "render_seconds",
                f"the document's templates took longer than {self.budget:g} s together to render once without "
                "data; simplify them",
            )
        started = time.monotonic()
        try:
            self.templates.render(source, _TRIAL)
        except TemplateLimitExceeded as exceeded:
            return exceeded
        except TemplateError:
            pass  # it depends on the data a message brings
        finally:
            self.spent += time.monotonic() - started
        return None
