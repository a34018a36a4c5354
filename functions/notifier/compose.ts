import type { OutgoingEmail } from '@leadflow/aws';
import {
  ACTION_LINK_ACTIONS,
  type ActionLinkAction,
  type Language,
  type LeadflowConfig,
  listUnsubscribeHeaders,
  type Notification,
  renderAcknowledgement,
  renderManagerAlert,
  renderSlaNotice,
  renderTaskNotice,
  renderTeamWarning,
  renderTemplate,
} from '@leadflow/core';

interface ComposeOptions {
  readonly config: LeadflowConfig;
  readonly settings: {
    sesFromAddress: string;
    leadLinkBaseUrl: string;
    /** Where follow-ups (subscription mail) come from: never the transactional address. */
    sesFollowUpFromAddress?: string | undefined;
  };
  /** The one-click unsubscribe URL of a contact; subscription mail cannot be composed without it. */
  readonly unsubscribeLink?: ((link: { contactId: string; language: Language }) => string) | undefined;
  /** Told when a template had no translation in the lead's language and English was used. */
  readonly onFallback?:
    | ((fallback: { template: string; version: number; asked: Language; used: Language }) => void)
    | undefined;
  /**
   * The URL of a signed one-tap link ("I'm on it", "Pass it on") for the alert's recipient; absent, an
   * alert has only "Open the lead".
   */
  readonly actionLink?:
    | ((link: { leadId: string; action: ActionLinkAction; managerId: string }) => string)
    | undefined;
}

/** Turns a queued notification into the email to send: who gets it, from whom, and what it says. */
export function composeNotification(
  notification: Notification,
  { config, settings, actionLink, unsubscribeLink, onFallback }: ComposeOptions,
): OutgoingEmail {
  if (notification.kind === 'team_warning') {
    const teamLead = config.managers.get(notification.recipientId);
    if (!teamLead) throw new Error(`Team lead ${notification.recipientId} is not a configured manager`);
    return {
      from: { address: settings.sesFromAddress, name: 'Leadflow alerts' },
      to: { address: teamLead.email, name: teamLead.name },
      content: renderTeamWarning(notification, { config, leadLinkBaseUrl: settings.leadLinkBaseUrl }),
      tags: { kind: notification.kind, channel: notification.capture.channel },
    };
  }
  if (
    notification.kind === 'sla_warning' ||
    notification.kind === 'sla_overdue' ||
    notification.kind === 'task_reminder' ||
    notification.kind === 'task_overdue'
  ) {
    const recipient = config.managers.get(notification.recipientId);
    if (!recipient) throw new Error(`Manager ${notification.recipientId} is not a configured manager`);
    // Times as the team reads them: its business hours' zone, else the business's.
    const timeZone =
      config.teams.get(notification.assignment.teamId)?.businessHours?.timeZone ?? config.timeZone;
    const common = { recipient, timeZone, leadLinkBaseUrl: settings.leadLinkBaseUrl };
    const content =
      notification.kind === 'sla_warning' || notification.kind === 'sla_overdue'
        ? renderSlaNotice(notification, {
            ...common,
            owner: config.managers.get(notification.sla.ownerId),
            // The owner's warning offers "I'm on it", bound to the owner.
            actions:
              actionLink && notification.kind === 'sla_warning'
                ? {
                    acknowledge: actionLink({
                      leadId: notification.leadId,
                      action: 'acknowledge',
                      managerId: recipient.id,
                    }),
                  }
                : undefined,
          })
        : renderTaskNotice(notification, {
            ...common,
            assignee: config.managers.get(notification.task.assigneeId),
          });
    return {
      from: { address: settings.sesFromAddress, name: 'Leadflow alerts' },
      to: { address: recipient.email, name: recipient.name },
      replyTo: undefined,
      content,
      tags: { kind: notification.kind, channel: notification.capture.channel },
    };
  }
  const ownerId = notification.assignment.ownerId;
  // A lead still waiting in its team's queue has no owner yet: its acknowledgement names the team lead, who
  // was warned about it, so the person's reply reaches someone (alerts always have an owner).
  const team = config.teams.get(notification.assignment.teamId);
  const teamLeadId = team?.teamLead ?? team?.managers.find((candidate) => candidate.active)?.id;
  const toLead = notification.kind === 'acknowledgement' || notification.kind === 'followup';
  const personId = ownerId ?? (toLead ? teamLeadId : undefined);
  const manager = personId === undefined ? undefined : config.managers.get(personId);
  if (!manager) throw new Error(`Owner ${ownerId ?? '(none)'} is not a configured manager`);
  const form =
    notification.capture.channel === 'web_form' ? config.forms.get(notification.capture.sourceId) : undefined;
  const businessName = form?.businessName ?? 'Leadflow';
  const lead = notification.capture.contact;

  if (notification.kind === 'manager_alert' || notification.kind === 'message_alert') {
    return {
      from: { address: settings.sesFromAddress, name: 'Leadflow alerts' },
      to: { address: manager.email, name: manager.name },
      // Replying to the alert writes straight to the lead.
      replyTo: lead.email ? { address: lead.email, name: lead.name } : undefined,
      content: renderManagerAlert(notification, {
        form,
        leadLinkBaseUrl: settings.leadLinkBaseUrl,
        manager,
        // Bound to this lead, each action and this recipient (the owner): nobody else's link.
        actions: actionLink
          ? (Object.fromEntries(
              ACTION_LINK_ACTIONS.map((action) => [
                action,
                actionLink({ leadId: notification.leadId, action, managerId: manager.id }),
              ]),
            ) as Record<ActionLinkAction, string>)
          : undefined,
      }),
      tags: { kind: notification.kind, channel: notification.capture.channel },
    };
  }
  if (notification.kind === 'followup') {
    // Subscription mail: another sender address than the transactional mail (as Gmail asks), the owner as
    // sender name and Reply-To, and RFC 8058 one-click unsubscribe in the headers and the footer.
    if (!lead.email) throw new Error('A follow-up needs the lead to have an email');
    const template = config.templates[notification.template];
    if (!template) throw new Error(`Template ${notification.template} is not configured`);
    if (!settings.sesFollowUpFromAddress) throw new Error('SES_FOLLOWUP_FROM_ADDRESS is not set');
    if (!unsubscribeLink)
      throw new Error('No unsubscribe link (PUBLIC_BASE_URL and the link key are needed)');
    const url = unsubscribeLink({
      contactId: notification.contactId,
      language: notification.capture.language,
    });
    const rendered = renderTemplate(template, {
      language: notification.capture.language,
      values: { leadName: lead.name, businessName, ownerName: manager.name },
      unsubscribeUrl: url,
    });
    if (rendered.fellBack) {
      onFallback?.({
        template: notification.template,
        version: rendered.version,
        asked: notification.capture.language,
        used: rendered.language,
      });
    }
    return {
      from: { address: settings.sesFollowUpFromAddress, name: manager.name },
      to: { address: lead.email },
      replyTo: { address: manager.email, name: manager.name },
      content: rendered.email,
      headers: listUnsubscribeHeaders(url),
      tags: {
        kind: notification.kind,
        channel: notification.capture.channel,
        template: `${notification.template}-v${rendered.version}-${rendered.language}`,
      },
    };
  }
  if (!lead.email) throw new Error('An acknowledgement needs the lead to have an email');
  // Transactional: the answer to the person's own request, so no List-Unsubscribe.
  return {
    from: { address: settings.sesFromAddress, name: businessName },
    // The address only: a display name would be the visitor's text in the recipient's inbox.
    to: { address: lead.email },
    // The lead's reply reaches the manager who owns them, not a no-reply box.
    replyTo: { address: manager.email, name: manager.name },
    content: renderAcknowledgement(notification, { businessName, manager }),
    tags: { kind: notification.kind, channel: notification.capture.channel },
  };
}
