"""Every action and trigger the engine can run, by type. The campaign document's node unions are built from these."""

from __future__ import annotations

from tidings.actions.ab_test import AbTest
from tidings.actions.accrue_bonus_points import AccrueBonusPoints
from tidings.actions.audience_action import AudienceAction
from tidings.actions.award_points import AwardPoints
from tidings.actions.check_email_status import CheckEmailStatus
from tidings.actions.control_group import ControlGroup
from tidings.actions.filter_customers import FilterCustomers
from tidings.actions.limit_participants import LimitParticipants
from tidings.actions.limit_poll import LimitPoll
from tidings.actions.notify_manager import NotifyManager
from tidings.actions.refresh_filter import RefreshFilter
from tidings.actions.select_from_segment import SelectFromSegment
from tidings.actions.send_email import SendEmail
from tidings.actions.send_notification import SendNotification
from tidings.actions.send_push import SendPush
from tidings.actions.send_sms import SendSms
from tidings.actions.show_popup import ShowPopup
from tidings.actions.wait import Wait
from tidings.actions.wait_until_date import WaitUntilDate
from tidings.core.contracts import Action
from tidings.core.triggers import Trigger
from tidings.triggers.anniversary import Anniversary
from tidings.triggers.api_enrollment import ApiEnrollment
from tidings.triggers.cart import AbandonedCart, AddedToCart
from tidings.triggers.customer_registration import CustomerRegistration
from tidings.triggers.date_come_for_client import DateComeForClient
from tidings.triggers.date_come_for_order import DateComeForOrder, DateComeForReceipt
from tidings.triggers.date_has_come import DateHasCome
from tidings.triggers.days_since import DaysSince
from tidings.triggers.event_occurred import EventOccurred
from tidings.triggers.getting_into_segment import GettingIntoSegment
from tidings.triggers.items import ItemOrdered, ItemPurchased
from tidings.triggers.order_events import OrderCancelled, OrderCreated, OrderPaid, OrderStatusChanged, ReceiptIssued
from tidings.triggers.poll_completed import PollCompleted
from tidings.triggers.repeated_date import RepeatedDate
from tidings.triggers.segment_changed import SegmentChanged

ACTIONS: dict[str, Action] = {
    action.type: action
    for action in (
        FilterCustomers(),
        RefreshFilter(),
        SelectFromSegment(),
        AudienceAction(),
        ControlGroup(),
        LimitParticipants(),
        Wait(),
        WaitUntilDate(),
        SendEmail(),
        SendSms(),
        SendPush(),
        AwardPoints(),
        AccrueBonusPoints(),
        LimitPoll(),
        CheckEmailStatus(),
        AbTest(),
        SendNotification(),
        ShowPopup(),
        NotifyManager(),
    )
}

TRIGGERS: dict[str, Trigger] = {
    trigger.type: trigger
    for trigger in (
        ApiEnrollment(),
        EventOccurred(),
        CustomerRegistration(),
        OrderCreated(),
        OrderPaid(),
        OrderCancelled(),
        OrderStatusChanged(),
        ReceiptIssued(),
        ItemPurchased(),
        ItemOrdered(),
        AddedToCart(),
        AbandonedCart(),
        DateHasCome(),
        RepeatedDate(),
        DateComeForClient(),
        DateComeForOrder(),
        DateComeForReceipt(),
        Anniversary(),
        DaysSince(),
        GettingIntoSegment(),
        SegmentChanged(),
        PollCompleted(),
    )
}
