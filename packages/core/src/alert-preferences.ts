import { z } from 'zod';
import type { FieldIssue } from './errors';
import type { Notification } from './notification';

/**
 * Which events alert a manager by email (`PATCH /v1/me`). Everything is on until the manager turns it off;
 * an escalation always reaches a team lead, since it is how a lead nobody answered still reaches someone.
 */
export const ALERT_EVENTS = ['new_lead', 'message', 'sla_warning', 'escalation', 'task_reminder'] as const;
export type AlertEvent = (typeof ALERT_EVENTS)[number];

const switches = Object.fromEntries(ALERT_EVENTS.map((event) => [event, z.boolean().optional()])) as Record<
  AlertEvent,
  z.ZodOptional<z.ZodBoolean>
>;

/** A manager's stored choices: an event left out is on. */
export const alertPreferencesSchema = z.strictObject(switches);
export type AlertPreferences = z.infer<typeof alertPreferencesSchema>;

/** The body of `PATCH /v1/me`: the events to turn on (`true`) or off (`false`); the others stay as they are. */
export const mePatchSchema = z.strictObject({
  alerts: alertPreferencesSchema.refine(
    (alerts) => Object.values(alerts).some((value) => value !== undefined),
    {
      message: `give at least one of ${ALERT_EVENTS.join(', ')}`,
    },
  ),
});
export type MePatch = z.infer<typeof mePatchSchema>;

/**
 * The preference that governs each notification kind sent to a manager; `null` for mail that is not a
 * manager's alert (the lead's acknowledgement), which preferences never stop. Every kind is listed, so a new
 * kind must say which preference it answers to.
 */
export const ALERT_EVENT_OF_KIND: Readonly<Record<Notification['kind'], AlertEvent | null>> = {
  manager_alert: 'new_lead',
  message_alert: 'message',
  // The owner, shortly before their first-response deadline.
  sla_warning: 'sla_warning',
  // The team lead, when a deadline passed ([Overdue]) or a task is long overdue: escalations.
  sla_overdue: 'escalation',
  task_overdue: 'escalation',
  // A task's assignee at its due time.
  task_reminder: 'task_reminder',
  // Nobody in the team could take a lead: it goes to the team lead, who cannot turn escalations off.
  team_warning: 'escalation',
  acknowledgement: null,
  // A follow-up step to the lead (subscription mail to the customer), never a manager's alert.
  followup: null,
};

/** Every event with its state: stored choices over the default (on). */
export function effectiveAlerts(stored: AlertPreferences | undefined): Record<AlertEvent, boolean> {
  return Object.fromEntries(ALERT_EVENTS.map((event) => [event, stored?.[event] !== false])) as Record<
    AlertEvent,
    boolean
  >;
}

/**
 * Whether a manager gets the email of `event`: yes unless they turned it off, and always an escalation for
 * a team lead (who may have turned it off before they became one).
 */
export function wantsAlert(
  stored: AlertPreferences | undefined,
  event: AlertEvent,
  recipient: { readonly leadsATeam: boolean },
): boolean {
  if (event === 'escalation' && recipient.leadsATeam) return true;
  return stored?.[event] !== false;
}

export type AlertPreferencesPlan =
  | { readonly ok: true; readonly alerts: AlertPreferences }
  | { readonly ok: false; readonly fields: readonly FieldIssue[] };

/**
 * The choices a patch sets (the events it names; the others stay as stored), or why it is refused: a team
 * lead turning escalations off.
 */
export function planAlertPreferences(
  patch: AlertPreferences,
  recipient: { readonly leadsATeam: boolean },
): AlertPreferencesPlan {
  if (patch.escalation === false && recipient.leadsATeam) {
    return {
      ok: false,
      fields: [
        {
          field: 'alerts.escalation',
          code: 'escalation_required',
          message:
            'a team lead keeps escalation alerts: they are how an unanswered lead still reaches someone',
        },
      ],
    };
  }
  const alerts: AlertPreferences = {};
  for (const event of ALERT_EVENTS) {
    const value = patch[event];
    if (value !== undefined) alerts[event] = value;
  }
  return { ok: true, alerts };
}
