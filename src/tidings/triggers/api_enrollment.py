"""Enrolment by API: customers enter when `POST /api/v1/campaigns/{id}/enroll` names them."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement

from tidings.core.account import AccountSettings


class ApiEnrollmentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Enrolment by API")


class ApiEnrollment:
    type: ClassVar[str] = "api_enrollment"
    title: ClassVar[str] = "Enrolment by API"
    kind: ClassVar[Literal["api"]] = "api"
    config_model = ApiEnrollmentConfig

    def event_name(self, config: ApiEnrollmentConfig) -> str | None:
        return None

    def event_matches(self, config: ApiEnrollmentConfig) -> ColumnElement[bool] | None:
        return None

    def next_fire_at(self, config: ApiEnrollmentConfig, after: datetime, account: AccountSettings) -> datetime | None:
        return None
