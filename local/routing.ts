import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDocumentClient, peekCursor, readRoutingState } from '@leadflow/aws';
import { table } from '@leadflow/aws/resources';
import {
  type CaptureEvent,
  type Channel,
  captureFormSubmission,
  channelSchema,
  identityKeys,
  type LeadflowConfig,
  languageSchema,
  normalizeEmail,
  normalizePhone,
  planRoute,
} from '@leadflow/core';
import { z } from 'zod';
import { config as deployed } from '../config';

/**
 * `npm run -s routing -- dry-run [--at <ISO time>]`: reads one lead as JSON on stdin and prints where
 * real routing would send it now: the rule, team, priority, score, tags, business hours, the manager
 * (without advancing any cursor), the contact it would join and every candidate with why. Writes nothing.
 *
 * Against the local system by default (DynamoDB on 127.0.0.1:8000, table `leadflow`); against AWS with
 * `--table <name>` and your usual AWS credentials and region.
 */
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    at: { type: 'string' },
    table: { type: 'string' },
    endpoint: { type: 'string' },
  },
});

const leadSchema = z.object({
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
type LeadInput = z.infer<typeof leadSchema>;

/** The capture the door would have made of this lead. */
function captureOf(lead: LeadInput, config: LeadflowConfig, at: Date): CaptureEvent {
  if (lead.channel === 'web_form') {
    const formId = lead.formId ?? lead.sourceId ?? 'demo-contact';
    const form = config.forms.get(formId);
    if (!form) throw new Error(`There is no form "${formId}"`);
    const fields: Record<string, string> = { ...lead.fields, ...lead.utm };
    for (const field of form.fields) {
      const value = { name: lead.name, email: lead.email, phone: lead.phone, message: lead.message }[
        field.type as 'name' | 'email' | 'phone' | 'message'
      ];
      if (value !== undefined) fields[field.name] = value;
      if (field.type === 'consent') fields[field.name] = 'on';
    }
    const outcome = captureFormSubmission(form, fields, { submissionId: 'dry-run', receivedAt: at });
    if (outcome.kind === 'spam') throw new Error('The honeypot field is filled: this lead would be dropped');
    return { ...outcome.event, ...(lead.language ? { language: lead.language } : {}) };
  }
  const source = channelSource(config, lead.channel, lead.sourceId);
  const contact: CaptureEvent['contact'] = {};
  if (lead.name) contact.name = lead.name;
  if (lead.email) {
    const email = normalizeEmail(lead.email);
    if (!email.ok) throw new Error(`email: ${email.message}`);
    contact.email = email.value.address;
    contact.emailKey = email.value.key;
  }
  if (lead.phone) {
    const phone = normalizePhone(lead.phone, source.defaultRegion);
    if (!phone.ok) throw new Error(`phone: ${phone.message}`);
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
  if (!found) throw new Error(`No ${channel} source${sourceId ? ` "${sourceId}"` : ''} is configured`);
  return found;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function dryRun(): Promise<void> {
  const at = values.at ? new Date(values.at) : new Date();
  if (Number.isNaN(at.getTime())) throw new Error(`--at is not an ISO time: ${values.at}`);
  const lead = leadSchema.parse(JSON.parse(await readStdin()));
  const config = deployed;
  const capture = captureOf(lead, config, at);
  const endpoint = values.endpoint ?? (values.table ? undefined : 'http://127.0.0.1:8000');
  const client = new DynamoDBClient(
    endpoint
      ? { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {},
  );
  const doc = createDocumentClient(client);
  const tableName = values.table ?? table.localName;
  try {
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
    const out =
      plan.kind === 'message'
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
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    doc.destroy();
  }
}

const [command] = positionals;
if (command === 'dry-run') {
  await dryRun();
} else {
  console.error('usage: npm run -s routing -- dry-run [--at <ISO time>] [--table <name>] < lead.json');
  process.exit(2);
}
