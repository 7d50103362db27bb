"""The `tidings` command line."""

from __future__ import annotations

import json
import secrets
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import SecretStr
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from tidings.core.errors import TidingsError
from tidings.settings import DEVELOPMENT_SECRET_KEY, Settings

if TYPE_CHECKING:
    from tidings.store.database import Database
    from tidings.store.file_import import ImportReport


def _settings_help() -> str:
    """Every setting, as the environment variable that sets it, with its default and description."""
    lines = ["Configuration is read from these environment variables (defaults in brackets):", ""]
    for name, field in Settings.model_fields.items():
        default = "" if field.is_required() else escape(f" [{field.default}]")
        if "secret" in name or "auth" in name or "token" in name or "password" in name:
            default = ""
        lines.append(f"TIDINGS_{name.upper()}{default}: {field.description or ''}".rstrip(": "))
    return "\n\n".join(lines)


app = typer.Typer(help="Tidings: customer-communication campaigns.", epilog=_settings_help(), no_args_is_help=True)
campaign_app = typer.Typer(help="Campaign documents.", no_args_is_help=True)
customers_app = typer.Typer(help="Customer data.", no_args_is_help=True)
orders_app = typer.Typer(help="Orders and receipts.", no_args_is_help=True)
catalog_app = typer.Typer(help="Stores, product categories and products.", no_args_is_help=True)
audiences_app = typer.Typer(help="Audiences: static named lists of customers.", no_args_is_help=True)
clock_app = typer.Typer(help="The manual clock of a running server (TIDINGS_CLOCK=manual).", no_args_is_help=True)
users_app = typer.Typer(help="The people who sign in to the editor.", no_args_is_help=True)
app.add_typer(campaign_app, name="campaign")
app.add_typer(customers_app, name="customers")
app.add_typer(orders_app, name="orders")
app.add_typer(catalog_app, name="catalog")
app.add_typer(audiences_app, name="audiences")
app.add_typer(clock_app, name="clock")
bounces_app = typer.Typer(help="The bounce mailbox: DSNs and spam complaints (ARF).", no_args_is_help=True)
dkim_app = typer.Typer(help="DKIM keys that sign the e-mail of a sending domain.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(dkim_app, name="dkim")
app.add_typer(bounces_app, name="bounces")
console = Console(stderr=True)


class CatalogKind(StrEnum):
    stores = "stores"
    categories = "categories"
    products = "products"


def _settings() -> Settings:
    try:
        return Settings()
    except Exception as error:  # pydantic names the variable; say it plainly and stop
        console.print(f"[red]configuration error:[/red] {error}")
        raise typer.Exit(2) from None


def _secret_key(settings: Settings, *, demo: bool) -> Settings:
    """Outside demo mode, refuse to start with the public development key, or to send e-mail through SMTP with an
    ``http://`` one-click unsubscribe link. Demo mode makes a key once and keeps it beside the database
    (``tidings-secret-key``), so the links in demo messages keep working after a restart."""
    if not demo:
        try:
            settings.check_secret_key()
            settings.check_public_url()
        except ValueError as error:
            console.print(f"[red]refusing to start:[/red] {error}")
            raise typer.Exit(2) from None
        return settings
    if settings.secret_key.get_secret_value() != DEVELOPMENT_SECRET_KEY:
        return settings
    from sqlalchemy import make_url

    database = make_url(settings.database_url).database if settings.database_url.startswith("sqlite") else None
    kept = Path(database or "tidings.db").resolve().parent / "tidings-secret-key"
    if not kept.is_file():
        kept.touch(mode=0o600)
        kept.write_text(secrets.token_urlsafe(32))
    return settings.model_copy(update={"secret_key": SecretStr(kept.read_text().strip())})


def _migrate(settings: Settings) -> None:
    from tidings.store.database import Database
    from tidings.store.migrate import upgrade

    db = Database.open(settings.database_url)
    try:
        upgrade(db)
    finally:
        db.dispose()


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    settings = _settings()
    _migrate(settings)
    console.print(f"database ready: {settings.database_url}")


@app.command()
def demo(customers: Annotated[int, typer.Option(help="How many demo customers.")] = 200) -> None:
    """Load demo customers and two example campaigns (safe to run twice)."""
    from tidings.demo import load_demo
    from tidings.services import Services

    settings = _settings()
    _migrate(settings)
    services = Services.build(settings)
    try:
        report = load_demo(services, customers=customers)
    finally:
        services.close()
    console.print(f"demo data loaded: {report}")


def _serve(settings: Settings, *, with_worker: bool, load_demo_data: bool) -> None:
    import uvicorn

    from tidings.api.app import create_app
    from tidings.engine.worker import run_loop
    from tidings.services import Services

    _migrate(settings)
    services = Services.build(settings)
    if load_demo_data:
        from tidings.demo import DEMO_ADMIN, demo_admin, load_demo

        load_demo(services)
        console.print(
            f"[bold]Sign in to the editor as {DEMO_ADMIN} with the password {demo_admin(services)}[/bold] "
            "(a new one each `run --demo`)"
        )
    stop = threading.Event()
    worker: threading.Thread | None = None
    if with_worker and settings.clock == "system":
        services.start()
        worker = threading.Thread(
            target=run_loop, args=(services.scheduler, stop, settings.tick_seconds), name="tidings-worker", daemon=True
        )
        worker.start()
    console.print(
        f"Tidings on http://{settings.host}:{settings.port}  (API /api/v1, docs /api/v1/docs, "
        f"database {settings.database_url}, clock {settings.clock})"
    )
    try:
        uvicorn.run(
            create_app(settings, services=services), host=settings.host, port=settings.port, log_level="warning"
        )
    finally:
        stop.set()
        if worker is not None:
            worker.join(timeout=10)
        services.close()


HostOption = Annotated[str | None, typer.Option("--host", help="Listen on this address [TIDINGS_HOST, 127.0.0.1].")]
PortOption = Annotated[
    int | None, typer.Option("--port", min=1, max=65_535, help="Listen on this port [TIDINGS_PORT, 8000].")
]


@app.command()
def run(
    demo_data: Annotated[bool, typer.Option("--demo/--no-demo", help="Load demo data first.")] = False,
    host: HostOption = None,
    port: PortOption = None,
) -> None:
    """API, scheduler and worker in one process. Links in messages point to http://HOST:PORT unless
    TIDINGS_PUBLIC_URL says otherwise."""
    settings = _secret_key(_settings(), demo=demo_data).with_address(host, port)
    _serve(settings, with_worker=True, load_demo_data=demo_data)


@app.command()
def serve(host: HostOption = None, port: PortOption = None) -> None:
    """The API only (run `tidings worker` processes beside it)."""
    _serve(_secret_key(_settings(), demo=False).with_address(host, port), with_worker=False, load_demo_data=False)


@app.command()
def worker() -> None:
    """Scheduler and chunk worker; run as many as you like against one PostgreSQL."""
    from tidings.engine.worker import run_loop
    from tidings.services import Services

    settings = _secret_key(_settings(), demo=False)
    if settings.clock == "manual":
        console.print(
            "[red]a worker needs the system clock[/red]; with TIDINGS_CLOCK=manual time moves only "
            "through POST /api/v1/clock/advance on the server"
        )
        raise typer.Exit(2)
    _migrate(settings)
    services = Services.build(settings)
    services.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    console.print(f"worker running ({settings.runtime} runtime) on {settings.database_url}")
    try:
        run_loop(services.scheduler, stop, settings.tick_seconds)
    finally:
        services.close()


def _load_json(path: Path) -> Any:
    """The file's JSON, read as strictly as a request body (no NaN, a bounded nesting depth)."""
    from tidings.api.routing import strict_loads

    try:
        return strict_loads(path.read_bytes())
    except FileNotFoundError:
        console.print(f"[red]no such file:[/red] {path}")
        raise typer.Exit(2) from None
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}: " if error.pos >= 0 else ""
        console.print(f"[red]{path} is not valid JSON:[/red] {where}{error.msg}")
        raise typer.Exit(1) from None


@campaign_app.command("validate")
def campaign_validate(file: Path) -> None:
    """Check a campaign document; print every problem with its node and field."""
    from tidings.document.validation import parse_document

    try:
        document = parse_document(_load_json(file))
    except TidingsError as error:
        console.print(f"[red]{error.message}[/red]")
        for problem in error.details or []:
            console.print(f"  node {problem.get('node')!s:<16} field {problem.get('field')!s:<32} {problem['message']}")
        raise typer.Exit(1) from None
    console.print(f"[green]valid[/green]: {document.name!r}, {len(document.nodes)} nodes, {len(document.edges)} edges")


@campaign_app.command("import")
def campaign_import(file: Path, activate: Annotated[bool, typer.Option(help="Activate after import.")] = False) -> None:
    """Create a campaign from a document file."""
    from tidings.services import Services

    settings = _settings()
    _migrate(settings)
    services = Services.build(settings)
    try:
        created = services.campaigns.create(_load_json(file))
        if activate:
            services.campaigns.transition(created["id"], "activate")
    except TidingsError as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(1) from None
    finally:
        services.close()
    print(json.dumps(created))


@campaign_app.command("export")
def campaign_export(campaign_id: int, output: Annotated[Path | None, typer.Option("-o")] = None) -> None:
    """Write a campaign's current document as JSON."""
    from tidings.services import Services

    services = Services.build(_settings())
    try:
        document = services.campaigns.get(campaign_id)["document"]
    except TidingsError as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(1) from None
    finally:
        services.close()
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if output is None:
        print(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")


def _import_file(file: Path, noun: str, run: Callable[[Database, Callable[[int, int], None]], ImportReport]) -> None:
    """Run a bulk import with a progress bar by bytes; print the rejected rows and a summary."""
    from tidings.store.database import Database

    settings = _settings()
    _migrate(settings)
    db = Database.open(settings.database_url)
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, console=console) as progress:
            size = file.stat().st_size if file.is_file() else None
            task = progress.add_task(f"importing {file.name}", total=size)

            def show(rows_done: int, bytes_done: int) -> None:
                progress.update(task, completed=bytes_done, description=f"importing {file.name}: {rows_done:,} {noun}")

            report = run(db, show)
    except TidingsError as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    for problem in report.errors[:50]:
        console.print(f"  line {problem.line}: {problem.field or ''} {problem.message}")
    shown = min(len(report.errors), 50)
    if report.failed and len(report.errors) + report.errors_omitted > shown:
        console.print(f"  … and {len(report.errors) + report.errors_omitted - shown} more problems")
    for note in getattr(report, "notes", []):
        console.print(f"  line {note.line}: {note.field or ''} {note.message}")
    console.print(f"imported {report.imported:,} {noun}, {report.failed:,} rejected")
    if report.failed and not report.imported:
        raise typer.Exit(1)


#: ``--backfill``: a historic import records no domain events, so it fires no campaign.
Backfill = Annotated[
    bool, typer.Option("--backfill", help="Historic data: record no events (customer registered, order paid, …).")
]


@customers_app.command("import")
def customers_import(file: Path, backfill: Backfill = False) -> None:
    """Import customers from a .csv or .jsonl file (upsert by external_id), with per-row errors."""
    from tidings.store.bulk_import import import_customers

    _import_file(
        file,
        "customers",
        lambda db, show: import_customers(db, file, now=datetime.now(UTC), record_events=not backfill, progress=show),
    )


@orders_app.command("import")
def orders_import(file: Path, backfill: Backfill = False) -> None:
    """Import orders and receipts from a .csv (one row per line item) or .jsonl file, upserting by
    (kind, external_id) and replacing their lines, with per-row errors."""
    from tidings.store.order_import import import_orders

    _import_file(
        file,
        "orders",
        lambda db, show: import_orders(db, file, now=datetime.now(UTC), record_events=not backfill, progress=show),
    )


@catalog_app.command("import")
def catalog_import(
    kind: Annotated[CatalogKind, typer.Argument(help="What the file holds.")],
    file: Path,
) -> None:
    """Import stores, product categories or products from a .csv or .jsonl file (upsert by code or sku)."""
    from tidings.store.catalog_data import CATEGORIES, PRODUCTS, STORES, Entity
    from tidings.store.catalog_import import import_catalog

    entities: dict[CatalogKind, Entity[Any]] = {
        CatalogKind.stores: STORES,
        CatalogKind.categories: CATEGORIES,
        CatalogKind.products: PRODUCTS,
    }
    entity = entities[kind]
    _import_file(file, kind.value, lambda db, show: import_catalog(db, entity, file, progress=show))


@audiences_app.command("import")
def audiences_import(
    file: Path,
    audience: Annotated[
        str | None,
        typer.Option(help="Put every customer of a one-column file into this audience (created if needed)."),
    ] = None,
) -> None:
    """Import audience members from CSV: one column of external ids (with --audience), else external_id;audience
    pairs, creating audiences by name as needed. Unknown customers are reported by line."""
    from tidings.core.clock import SystemClock
    from tidings.segments.audiences import AudienceService
    from tidings.store.database import Database

    settings = _settings()
    _migrate(settings)
    db = Database.open(settings.database_url)
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    try:
        with file.open("rb") as handle, Progress(*columns, console=console) as progress:
            task = progress.add_task(f"importing {file.name}", total=file.stat().st_size)

            def show(rows_done: int, bytes_done: int) -> None:
                progress.update(task, completed=bytes_done, description=f"importing {file.name}: {rows_done:,} rows")

            report = AudienceService(db, SystemClock()).import_csv(handle, audience_name=audience, progress=show)
    except OSError as error:
        console.print(f"[red]cannot read {file}:[/red] {error.strerror or error}")
        raise typer.Exit(2) from None
    except TidingsError as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    for problem in report.errors[:50]:
        console.print(f"  line {problem.line}: {problem.message}")
    if len(report.errors) > 50 or report.errors_omitted:
        console.print(f"  … and {len(report.errors) - 50 + report.errors_omitted} more")
    if report.audiences_created:
        console.print(f"created audiences: {', '.join(report.audiences_created)}")
    console.print(
        f"added {report.added:,} members, {report.already_members:,} already members, {report.failed:,} rows rejected"
    )
    if report.failed and not (report.added or report.already_members):
        raise typer.Exit(1)


UserOption = Annotated[str, typer.Option("--user", help="An admin's e-mail (the clock is for admins).")]
PasswordOption = Annotated[
    str, typer.Option(prompt=True, hide_input=True, envvar="TIDINGS_PASSWORD", help="Asked when not given.")
]


def _api(path: str, user: str, password: str, body: dict[str, Any] | None = None) -> Any:
    """Sign in to the running server as ``user`` and call ``path`` with the session (and its CSRF token)."""
    import httpx

    base = f"{_settings().public_url}/api/v1"
    try:
        with httpx.Client(base_url=base, timeout=600) as client:
            signed_in = client.post("/session", json={"email": user, "password": password})
            if signed_in.status_code >= 400:
                console.print(f"[red]cannot sign in:[/red] {signed_in.text}")
                raise typer.Exit(1)
            csrf = {"X-CSRF-Token": signed_in.json()["csrf_token"]}
            response = client.post(path, json=body, headers=csrf) if body is not None else client.get(path)
            client.delete("/session", headers=csrf)
    except httpx.HTTPError as error:
        console.print(f"[red]cannot reach {base}:[/red] {error}; is `tidings run` running with TIDINGS_CLOCK=manual?")
        raise typer.Exit(2) from None
    if response.status_code >= 400:
        console.print(f"[red]{response.status_code}[/red] {response.text}")
        raise typer.Exit(1)
    return response.json()


@clock_app.command("show")
def clock_show(user: UserOption, password: PasswordOption) -> None:
    """Print the server's current time."""
    print(json.dumps(_api("/clock", user, password)))


@clock_app.command("advance")
def clock_advance(
    user: UserOption,
    password: PasswordOption,
    to: Annotated[str | None, typer.Option(help="ISO-8601 date-time to move to.")] = None,
    by: Annotated[str | None, typer.Option(help="ISO-8601 duration, e.g. P1D or PT2H.")] = None,
) -> None:
    """Move the manual clock forward and run everything that became due."""
    if (to is None) == (by is None):
        console.print("give exactly one of --to or --by")
        raise typer.Exit(2)
    print(json.dumps(_api("/clock/advance", user, password, {"to": to} if to else {"by": by})))


class RoleChoice(StrEnum):
    admin = "admin"
    marketer = "marketer"
    analyst = "analyst"


@users_app.command("create")
def users_create(
    email: str,
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="TIDINGS_PASSWORD",
            help="Asked when not given.",
        ),
    ],
    name: Annotated[str | None, typer.Option(help="Shown in the editor; the e-mail's name by default.")] = None,
    role: Annotated[RoleChoice, typer.Option(help="What the user may do.")] = RoleChoice.marketer,
    admin: Annotated[bool, typer.Option("--admin", help="Shorthand for --role admin (the first user).")] = False,
) -> None:
    """Add a user who signs in to the editor, e.g. the first admin: `tidings users create --admin you@example.com`."""
    from pydantic import ValidationError

    from tidings.model.users import UserIn
    from tidings.services import Services

    try:
        user = UserIn(
            email=email, name=name or email.partition("@")[0], role="admin" if admin else role.value, password=password
        )
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, item['loc']))}: {item['msg']}" for item in error.errors())
        console.print(f"[red]refused:[/red] {problems}")
        raise typer.Exit(2) from None
    settings = _settings()
    _migrate(settings)
    services = Services.build(settings)
    try:
        with services.db.engine.begin() as conn:
            row = services.accounts.create_user(conn, user)
    except TidingsError as error:
        console.print(f"[red]refused:[/red] {error.message}")
        raise typer.Exit(1) from None
    finally:
        services.close()
    console.print(f"user {row['id']} created: {user.email} ({user.role}); sign in at {settings.public_url}/ui/")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


@dkim_app.command("keygen")
def dkim_keygen(
    domain: str,
    selector: Annotated[
        str, typer.Option(help="The key's name in DNS; a new one for each rotation (s1, s2, 2026a …).")
    ] = "s1",
    out: Annotated[Path, typer.Option(help="Directory for the private key file (kept private, mode 600).")] = Path(),
) -> None:
    """Make an RSA key for DOMAIN: write the private key and print the DNS TXT record to publish and the setting."""
    from tidings.delivery.dkim import DkimKeyInvalid, generate

    domain = domain.strip().lower().rstrip(".")
    try:
        private_key, record = generate(domain, selector)
    except DkimKeyInvalid as error:
        console.print(f"[red]refused:[/red] {error.message}")
        raise typer.Exit(2) from None
    path = (out / f"{domain}.{selector}.pem").resolve()
    if path.exists():
        console.print(f"[red]refused:[/red] {path} exists; choose another --selector to rotate the key")
        raise typer.Exit(2)
    out.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(private_key)
    setting = json.dumps({domain: {"selector": selector, "private_key_file": str(path)}})
    console.print(f"private key written to {path}")
    console.print("publish this TXT record in the DNS zone of the domain:")
    typer.echo(record)
    console.print("then sign with it (beside any other domains' keys):")
    typer.echo(f"TIDINGS_DKIM_KEYS='{setting}'")


@bounces_app.command("import")
def bounces_import(
    folder: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="Where the bounce mailbox drops mail.")],
) -> None:
    """Read bounces (DSN) and spam complaints (ARF) from FOLDER: hard bounces and complaints suppress the address.
    Each mail moves to FOLDER/done or, if it cannot be read, FOLDER/refused (and is kept in the database)."""
    from tidings.core.clock import SystemClock
    from tidings.delivery.bounce_mail import import_folder
    from tidings.store.database import Database

    settings = _settings()
    _migrate(settings)
    db = Database.open(settings.database_url)
    try:
        report = import_folder(db, folder, SystemClock().now())
    finally:
        db.dispose()
    console.print(f"applied {report.applied} reports, suppressed {report.suppressed} addresses")
    for name, why in report.refused:
        console.print(f"[red]refused[/red] {name}: {why}")
    if report.refused:
        raise typer.Exit(1)
