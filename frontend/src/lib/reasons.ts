/** Why a customer left a campaign at a node, in words (the engine's reason codes; an unknown one is humanised). */
import { humanize } from "../model/schema";

const REASONS: Record<string, string> = {
  no_contact: "not sent: no e-mail address, phone number or app to send to",
  invalid_contact: "not sent: the e-mail address or phone number is not valid",
  unsubscribed_channel: "not sent: unsubscribed from this channel",
  unsubscribed_category: "not sent: unsubscribed from this kind of mailing",
  already_sent: "already sent this message in this journey",
  template_error: "not sent: the message could not be written for this customer",
  control_group: "held out in the control group",
  limit_reached: "the limit of participants was reached",
  not_in_segment: "not in the segment",
  segment_missing: "the segment no longer exists",
  audience_missing: "the audience no longer exists",
  insufficient_points: "not enough points",
  already_awarded: "points already awarded in this journey",
  already_accrued: "bonus already accrued in this journey",
  no_manager: "no manager to notify",
  poll_missing: "the poll no longer exists",
  poll_limit_reached: "the poll's limit was reached",
  poll_already_answered: "already answered the poll",
  no_matching_criteria: "the e-mail's status matched none of the branches",
  ab_winner_removed: "the A/B test's winning branch was removed",
};

export function reasonText(code: string | null): string {
  if (!code) return "left the campaign";
  return REASONS[code] ?? humanize(code).toLowerCase();
}
