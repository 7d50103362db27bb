"""Users — the people who run Tidings, with a role (``model.users``) — and each customer's responsible manager
(D8: Notify manager writes to the responsible manager, else in turn to the users marked as managers).

``router`` (users: admins change, marketers read to pick Notify manager's recipients); ``managers`` (customers).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import Connection, RowMapping

from tidings.api.customers import find_customer
from tidings.api.deps import MAX_ID, PageDep, ServicesDep
from tidings.api.routing import StrictJsonRoute
from tidings.core.errors import InvalidInput, NotFound
from tidings.model.users import ManagerIn, Role, UserIn, UserPatch
from tidings.store import users as user_sql

router = APIRouter(route_class=StrictJsonRoute)
managers = APIRouter(route_class=StrictJsonRoute)

UserIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="User id.")]
ExternalIdPath = Annotated[str, Path(min_length=1, max_length=128, description="The customer's external id.")]


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    manager: bool = Field(description="Receives Notify manager's notes in turn.")
    active: bool = Field(description="false: cannot sign in.")
    can_sign_in: bool = Field(description="Has a password and is active.")
    created_at: datetime


class UserPage(BaseModel):
    items: list[UserOut]
    total: int
    limit: int
    offset: int


class CustomerManager(BaseModel):
    customer: str
    manager: UserOut | None = Field(description="The responsible manager; null when none is assigned.")


def _out(row: RowMapping) -> UserOut:
    return UserOut(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        role=row["role"],
        manager=row["manager"],
        active=row["active"],
        can_sign_in=row["active"] and row["password_hash"] is not None,
        created_at=row["created_at"],
    )


def _user(conn: Connection, user_id: int) -> RowMapping | None:
    return conn.execute(user_sql.get_user(user_id)).mappings().first()


@router.post("/users", status_code=201, summary="Add a user", tags=["users"])
def create_user(user: UserIn, services: ServicesDep) -> UserOut:
    """The e-mail (compared in lower case) is unique: a second user with it is refused (409)."""
    with services.db.engine.begin() as conn:
        return _out(services.accounts.create_user(conn, user))


@router.get("/users", summary="Users, oldest first", tags=["users"])
def list_users(
    services: ServicesDep, page: PageDep, role: Annotated[Role | None, Query(description="Only this role.")] = None
) -> UserPage:
    with services.db.engine.connect() as conn:
        rows = conn.execute(user_sql.list_users(role=role, limit=page.limit, offset=page.offset)).mappings().all()
        total = conn.execute(user_sql.count_users(role=role)).scalar_one()
    return UserPage(items=[_out(row) for row in rows], total=total, limit=page.limit, offset=page.offset)


@router.get("/users/{user_id}", summary="One user", tags=["users"])
def get_user(user_id: UserIdPath, services: ServicesDep) -> UserOut:
    with services.db.engine.connect() as conn:
        row = _user(conn, user_id)
    if row is None:
        raise NotFound(f"user {user_id} does not exist", details={"id": user_id})
    return _out(row)


@router.patch("/users/{user_id}", summary="Change a user (role, name, manager, active, password)", tags=["users"])
def patch_user(user_id: UserIdPath, body: UserPatch, services: ServicesDep) -> UserOut:
    """Deactivating a user or setting a new password ends their sessions at once."""
    with services.db.engine.begin() as conn:
        if _user(conn, user_id) is None:
            raise NotFound(f"user {user_id} does not exist", details={"id": user_id})
        services.accounts.update_user(conn, user_id, body.model_dump(exclude_none=True))
        row = _user(conn, user_id)
    assert row is not None
    return _out(row)


@managers.get("/customers/{external_id}/manager", summary="A customer's responsible manager", tags=["users"])
def get_manager(external_id: ExternalIdPath, services: ServicesDep) -> CustomerManager:
    with services.db.engine.connect() as conn:
        manager_id = find_customer(conn, external_id)["manager_id"]
        row = _user(conn, manager_id) if manager_id is not None else None
    return CustomerManager(customer=external_id, manager=_out(row) if row is not None else None)


@managers.put("/customers/{external_id}/manager", summary="Assign a customer's responsible manager", tags=["users"])
def put_manager(external_id: ExternalIdPath, body: ManagerIn, services: ServicesDep) -> CustomerManager:
    """``{"user": id}`` assigns any user (manager or admin) as the customer's responsible manager;
    ``{"user": null}`` removes it (Notify manager then picks a manager round-robin)."""
    with services.db.engine.begin() as conn:
        customer_id = find_customer(conn, external_id)["id"]
        row = _user(conn, body.user) if body.user is not None else None
        if body.user is not None and row is None:
            raise InvalidInput(
                f"user {body.user} does not exist; add it with POST /api/v1/users",
                details=[{"field": "user", "in": "body", "message": f"no user {body.user}"}],
            )
        conn.execute(user_sql.set_manager(customer_id, body.user))
    return CustomerManager(customer=external_id, manager=_out(row) if row is not None else None)
