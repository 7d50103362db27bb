"""Every action the engine can run, by node type. The campaign document's node union is built from this."""

from __future__ import annotations

from tidings.actions.filter_customers import FilterCustomers
from tidings.actions.send_email import SendEmail
from tidings.actions.wait import Wait
from tidings.actions.wait_until_date import WaitUntilDate
from tidings.engine.contracts import Action

ACTIONS: dict[str, Action] = {
    action.type: action for action in (FilterCustomers(), Wait(), WaitUntilDate(), SendEmail())
}
