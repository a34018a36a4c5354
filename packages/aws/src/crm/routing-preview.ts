import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import {
  type CaptureEvent,
  type Channel,
  captureFormSubmission,
  channelSchema,
  identityKeys,
  LeadflowConfig,
  languageSchema,
  leadflowConfigSchema,
  normalizeEmail,
  normalizePhone,
  planRoute,
  ValidationError,
} from '@leadflow/core';
import { z } from 'zod';
import { keys, leadWindowItem } from '../items';
import { table } from '../resources';
import { peekCursor, readRoutingState } from '../routing-state';

/**
 * Routing preview: the dry-run of one lead and the replay of a proposed rule set over past leads, run
 * through the router's own planner and written nowhere. `npm run -s routing -- dry-run|replay` and
 * `POST /v1/admin/routing/dry-run|replay` both call these, so they answer the same.
 */

/** A lead to dry-run: what a form or a channel would have delivered. */
export const previewLeadSchema = z.object({
  channel: channelSchema.default('web_form'),
  /** The form id (web forms) or the source id (other channels). */
  formId: z.string().optional(),
  sourceId: z.string().optional(),
  name: z.string().optional(),
  email: z.string().optional(),
  phone: z.string().optional(),
  message: z.string().optional(),
  utm: z.record(z.string(), z.string()).default({}),
  language: languageSchema.optional(),
  fields: z.record(z.string(), z.string()).default({}),
  urgent: z.boolean().optional(),
});
export type PreviewLead = z.infer<typeof previewLeadSchema>;

/** A lead or a rule set the preview refuses, as field errors (the CLI prints them, the API answers 422). */
function refused(message: string, field: string, code = 'invalid'): ValidationError {
  return new ValidationError(message, [{ field, code, message }]);
}

function issuesOf(error: z.ZodError, prefix: string) {
  return error.issues.map((issue) => ({
    field: [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(request)',
    code: issue.code,
    message: issue.message,
  }));
}

/** The capture the door would have made of this lead. */
function captureOf(lead: PreviewLead, config: LeadflowConfig, at: Date): CaptureEvent {
  if (lead.channel === 'web_form') {
    const formId = lead.formId ?? lead.sourceId ?? 'demo-contact';
    const form = config.forms.get(formId);
    if (!form) throw refused(`There is no form "${formId}"`, 'formId', 'unknown_form');
    const fields: Record<string, string> = { ...lead.fields, ...lead.utm };
    for (const field of form.fields) {
      const value = { name: lead.name, email: lead.email, phone: lead.phone, message: lead.message }[
        field.type as 'name' | 'email' | 'phone' | 'message'
      ];
      if (value !== undefined) fields[field.name] = value;
      if (field.type === 'consent') fields[field.name] = 'on';
    }
    // A refusal of the door (a missing or malformed field) is a LeadflowError with its field errors.
    const outcome = captureFormSubmission(form, fields, { submissionId: 'dry-run', receivedAt: at });
    if (outcome.kind === 'spam') {
      throw refused('The honeypot field is filled: this lead would be dropped', 'fields', 'spam');
    }
    return { ...outcome.event, ...(lead.language ? { language: lead.language } : {}) };
  }
  const source = channelSource(config, lead.channel, lead.sourceId);
  const contact: CaptureEvent['contact'] = {};
  if (lead.name) contact.name = lead.name;
  if (lead.email) {
    const email = normalizeEmail(lead.email);
    if (!email.ok) throw refused(`email: ${email.message}`, 'email');
    contact.email = email.value.address;
    contact.emailKey = email.value.key;
  }
  if (lead.phone) {
    const phone = normalizePhone(lead.phone, source.defaultRegion);
    if (!phone.ok) throw refused(`phone: ${phone.message}`, 'phone');
    contact.phone = phone.value;
  }
  return {
    version: 1,
    submissionId: 'dry-run',
    channel: lead.channel,
    sourceId: lead.sourceId ?? lead.channel,
    teamId: source.teamId,
    receivedAt: at.toISOString(),
    language: lead.language ?? source.language,
    contact,
    ...(lead.message ? { message: lead.message } : {}),
    consent: false,
    urgent: lead.urgent ?? lead.channel === 'phone_call',
    answers: lead.fields,
    source: { utm: lead.utm },
  };
}

function channelSource(config: LeadflowConfig, channel: Channel, sourceId: string | undefined) {
  const { channels } = config;
  const found =
    channel === 'chat'
      ? channels.chatWidgets.find((widget) => widget.id === sourceId)
      : (channels.generic.find((source) => source.id === sourceId) ??
        (channel === 'phone_call' || channel === 'sms'
          ? channels.twilio
          : channel === 'telegram'
            ? channels.telegram
            : channel === 'email'
              ? channels.email
              : channels.meta));
  if (!found) {
    throw refused(
      `No ${channel} source${sourceId ? ` "${sourceId}"` : ''} is configured`,
      'sourceId',
      'unknown_source',
    );
  }
  return found;
}

/**
 * The dry-run's answer for one lead: what real routing would do at `at`: the rule, team, priority, score,
 * tags, business hours, the manager (the team's cursor read, not drawn), the contact it would join and every
 * candidate with why. Reads the routing state; writes nothing. Throws `ValidationError` for a lead the door
 * would refuse.
 */
export async function dryRunLead(
  input: unknown,
  options: { doc: DynamoDBDocumentClient; tableName: string; config: LeadflowConfig; at: Date },
): Promise<Record<string, unknown>> {
  const { doc, tableName, config, at } = options;
  const parsed = previewLeadSchema.safeParse(input);
  if (!parsed.success) {
    throw new ValidationError('The lead has invalid fields.', issuesOf(parsed.error, ''));
  }
  const capture = captureOf(parsed.data, config, at);
  const state = await readRoutingState(
    doc,
    tableName,
    config,
    identityKeys(capture.contact, capture.handles),
  );
  let cursor: { teamId: string; value: number } | undefined;
  let plan = planRoute({ capture, config, contact: state.contact, loads: state.loads, now: at });
  if (plan.kind === 'needs_cursor') {
    // The value real routing would draw next, read without drawing it.
    cursor = { teamId: plan.teamId, value: await peekCursor(doc, tableName, plan.teamId) };
    plan = planRoute({ capture, config, contact: state.contact, loads: state.loads, cursor, now: at });
  }
  if (plan.kind === 'needs_cursor') throw new Error('The plan kept asking for a cursor');
  return plan.kind === 'message'
    ? {
        outcome: 'message',
        leadId: plan.leadId,
        manager: plan.ownerId,
        contactId: state.contactId ?? null,
        reason: plan.assignment.reason,
      }
    : {
        outcome: plan.assignment.kind === 'queued' ? 'queued' : 'lead',
        rule: plan.decision.ruleId,
        team: plan.assignment.teamId,
        priority: plan.decision.priority,
        score: plan.score,
        tags: plan.decision.tags,
        inBusinessHours: plan.decision.inBusinessHours ?? null,
        manager: plan.assignment.kind === 'assigned' ? plan.assignment.managerId : null,
        strategy: plan.record.strategy,
        contactId: state.contactId ?? null,
        candidates: plan.assignment.candidates.map(({ managerId, teamId, chosen, available, why }) => ({
          managerId,
          teamId,
          chosen,
          available,
          why,
        })),
        reason: plan.assignment.reason,
        rules: plan.decision.trace,
        scoreReasons: plan.scoreReasons,
        at: at.toISOString(),
      };
}

/** A lead as stored, with what replay needs. */
const storedLeadSchema = z.looseObject({
  leadId: z.string(),
  teamId: z.string(),
  ownerId: z.string().optional(),
  capture: z.looseObject({ receivedAt: z.string() }),
  assignment: z.looseObject({ strategy: z.string().optional() }).optional(),
});
type StoredLead = z.infer<typeof storedLeadSchema> & { capture: CaptureEvent };

/** The leads captured in [from, to]: each manager's and each team queue's index partition, never a scan. */
async function leadsBetween(
  doc: DynamoDBDocumentClient,
  tableName: string,
  config: LeadflowConfig,
  from: string,
  to: string,
): Promise<StoredLead[]> {
  const partitions = [
    ...[...config.managers.keys()].map((id) => keys.owner(id)),
    ...[...config.teams.keys()].map((id) => keys.queue(id)),
  ];
  const leads: StoredLead[] = [];
  for (const partition of partitions) {
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await doc.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: table.globalSecondaryIndexes[0]?.indexName,
          ...leadWindowItem.capturedBetween(partition, from, to),
          ExclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) {
        // The window's bounds are lead sort keys; anything else there is not replayed.
        const lead = storedLeadSchema.safeParse(item);
        if (lead.success) leads.push(lead.data as StoredLead);
      }
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
  }
  return leads.sort((a, b) => a.capture.receivedAt.localeCompare(b.capture.receivedAt));
}

/** A replay's window: a bare date is its whole UTC day (`from` at its start, `to` at its end). */
export function replayWindow(from: string, to: string): { from: string; to: string } {
  const day = (value: string, end: boolean) =>
    /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T${end ? '23:59:59.999' : '00:00:00.000'}Z` : value;
  return { from: day(from, false), to: day(to, true) };
}

export interface ReplayRow {
  readonly team: string;
  readonly manager: string;
  readonly actual: number;
  readonly proposed: number;
}

export interface ReplayResult {
  readonly leads: number;
  readonly rows: ReplayRow[];
}

/**
 * Runs a proposed rule set (`{rules, default}`, or a bare array of rules) over the leads captured in a
 * period, through the same planner as the router, and counts per team and manager where they went and
 * where they would go. Cursors start afresh per team, loads count only the replayed leads, and a lead that
 * went to its contact's owner is replayed as a returning contact of that owner. Writes nothing. Throws
 * `ValidationError` (fields under `rules`) when the rule set is not valid with this configuration.
 */
export async function replay(options: {
  doc: DynamoDBDocumentClient;
  tableName: string;
  config: LeadflowConfig;
  rules: unknown;
  from: string;
  to: string;
}): Promise<ReplayResult> {
  const rulesInput = Array.isArray(options.rules) ? { rules: options.rules } : options.rules;
  const proposed = leadflowConfigSchema.safeParse({ ...options.config.raw, routing: rulesInput });
  if (!proposed.success) {
    // Paths as the caller wrote the rules: `rules.0.then.teamId` for a bare array, else `rules.rules.0…`.
    const skip = Array.isArray(options.rules) ? 2 : 1;
    const issues = proposed.error.issues.map((issue) => ({
      field: ['rules', ...issue.path.slice(issue.path[0] === 'routing' ? skip : 0).map(String)].join('.'),
      code: issue.code,
      message: issue.message,
    }));
    throw new ValidationError('The proposed rules are not valid with this configuration.', issues);
  }
  const proposal = new LeadflowConfig({ ...options.config.raw, routing: rulesInput });
  const leads = await leadsBetween(options.doc, options.tableName, options.config, options.from, options.to);
  const cursors = new Map<string, number>();
  const loads: Record<string, { openLeads: number; lastAssignedAt?: string }> = {};
  const counts = new Map<string, { team: string; manager: string; actual: number; proposed: number }>();
  const count = (team: string, manager: string, field: 'actual' | 'proposed') => {
    const key = `${team} ${manager}`;
    const row = counts.get(key) ?? { team, manager, actual: 0, proposed: 0 };
    row[field] += 1;
    counts.set(key, row);
  };
  for (const lead of leads) {
    count(lead.teamId, lead.ownerId ?? '(queue)', 'actual');
    const contact =
      lead.assignment?.strategy === 'sticky_owner' && lead.ownerId ? { ownerId: lead.ownerId } : undefined;
    const now = new Date(lead.capture.receivedAt);
    let cursor: { teamId: string; value: number } | undefined;
    let plan = planRoute({ capture: lead.capture, config: proposal, contact, loads, now });
    if (plan.kind === 'needs_cursor') {
      const value = (cursors.get(plan.teamId) ?? 0) + 1;
      cursors.set(plan.teamId, value);
      cursor = { teamId: plan.teamId, value };
      plan = planRoute({ capture: lead.capture, config: proposal, contact, loads, cursor, now });
    }
    if (plan.kind === 'lead') {
      const manager = plan.assignment.kind === 'assigned' ? plan.assignment.managerId : '(queue)';
      count(plan.assignment.teamId, manager, 'proposed');
      if (plan.assignment.kind === 'assigned') {
        loads[manager] = {
          openLeads: (loads[manager]?.openLeads ?? 0) + 1,
          lastAssignedAt: now.toISOString(),
        };
      }
    }
  }
  const rows = [...counts.values()].sort((a, b) =>
    `${a.team} ${a.manager}`.localeCompare(`${b.team} ${b.manager}`),
  );
  return { leads: leads.length, rows };
}
