import type { OutgoingEmail } from '@leadflow/aws';
import {
  type LeadflowConfig,
  type Notification,
  renderAcknowledgement,
  renderManagerAlert,
  renderTeamWarning,
} from '@leadflow/core';

interface ComposeOptions {
  readonly config: LeadflowConfig;
  readonly settings: { sesFromAddress: string; leadLinkBaseUrl: string };
}

/** Turns a queued notification into the email to send: who gets it, from whom, and what it says. */
export function composeNotification(
  notification: Notification,
  { config, settings }: ComposeOptions,
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
  const ownerId = notification.assignment.ownerId;
  // A lead still waiting in its team's queue has no owner yet: its acknowledgement names the team lead, who
  // was warned about it, so the person's reply reaches someone (alerts always have an owner).
  const team = config.teams.get(notification.assignment.teamId);
  const teamLeadId = team?.teamLead ?? team?.managers.find((candidate) => candidate.active)?.id;
  const personId = ownerId ?? (notification.kind === 'acknowledgement' ? teamLeadId : undefined);
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
      content: renderManagerAlert(notification, { form, leadLinkBaseUrl: settings.leadLinkBaseUrl, manager }),
      tags: { kind: notification.kind, channel: notification.capture.channel },
    };
  }
  if (!lead.email) throw new Error('An acknowledgement needs the lead to have an email');
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
