import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { ConfigStore, createDocumentClient, keys, peekCursor, readRoutingState } from '@leadflow/aws';
import { table } from '@leadflow/aws/resources';
import {
  type CaptureEvent,
  type Channel,
  captureFormSubmission,
  channelSchema,
  identityKeys,
  LeadflowConfig,
  LeadflowError,
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
  strict: false,
  options: {
    at: { type: 'string' },
    table: { type: 'string' },
    endpoint: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    rules: { type: 'string' },
  },
}) as { positionals: string[]; values: Record<string, string | undefined> };

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

/** Where the commands read: the local system by default, or a table on AWS with your credentials. */
function tableClient(): { doc: DynamoDBDocumentClient; tableName: string } {
  const endpoint = values.endpoint ?? (values.table ? undefined : 'http://127.0.0.1:8000');
  const client = new DynamoDBClient(
    endpoint
      ? { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {},
  );
  return { doc: createDocumentClient(client), tableName: values.table ?? table.localName };
}

/** The dry-run's answer for one lead: what real routing would do now, read without writing anything. */
export async function dryRunLead(
  input: unknown,
  options: { doc: DynamoDBDocumentClient; tableName: string; config: LeadflowConfig; at: Date },
): Promise<Record<string, unknown>> {
  const { doc, tableName, config, at } = options;
  const lead = leadSchema.parse(input);
  const capture = captureOf(lead, config, at);
  {
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
}

/** A lead as stored, with what replay needs. */
interface StoredLead {
  readonly leadId: string;
  readonly teamId: string;
  readonly ownerId?: string;
  readonly capture: CaptureEvent;
  readonly assignment?: { strategy?: string };
}

/** The leads captured in [from, to): each manager's and each team queue's index partition, never a scan. */
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
          IndexName: table.globalSecondaryIndexes[0]?.indexName ?? 'gsi1',
          KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':pk': partition, ':from': `LEAD#${from}`, ':to': `LEAD#${to}` },
          ExclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) leads.push(item as unknown as StoredLead);
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
  }
  return leads.sort((a, b) => a.capture.receivedAt.localeCompare(b.capture.receivedAt));
}

/**
 * Runs a proposed rule set over the leads captured in a period, through the same planner as the router,
 * and counts per team and manager where they went and where they would go. Cursors start afresh per team,
 * loads count only the replayed leads, and a lead that went to its contact's owner is replayed as a
 * returning contact of that owner. Writes nothing.
 */
export async function replay(options: {
  doc: DynamoDBDocumentClient;
  tableName: string;
  config: LeadflowConfig;
  rules: unknown;
  from: string;
  to: string;
}): Promise<{ leads: number; rows: { team: string; manager: string; actual: number; proposed: number }[] }> {
  const rulesInput = Array.isArray(options.rules) ? { rules: options.rules } : options.rules;
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

const USAGE = [
  'usage: npm run -s routing -- dry-run [--at <ISO time>] [--table <name>] [--endpoint <url>] < lead.json',
  '       npm run -s routing -- replay --from <date> --to <date> --rules <file> [--table <name>] [--endpoint <url>]',
].join('\n');

if (import.meta.main) {
  const [command] = positionals;
  const { doc, tableName } = tableClient();
  try {
    if (command === 'dry-run') {
      const at = values.at ? new Date(values.at) : new Date();
      if (Number.isNaN(at.getTime())) throw new Error(`--at is not an ISO time: ${values.at}`);
      // The configuration in force (runtime changes included), as the router reads it.
      const { config } = await new ConfigStore(doc, tableName, deployed).get();
      const out = await dryRunLead(JSON.parse(await readStdin()), { doc, tableName, config, at });
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } else if (command === 'replay' && values.from && values.to && values.rules) {
      const day = (value: string, end: boolean) =>
        /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T${end ? '23:59:59.999' : '00:00:00.000'}Z` : value;
      const result = await replay({
        doc,
        tableName,
        config: (await new ConfigStore(doc, tableName, deployed).get()).config,
        rules: JSON.parse(readFileSync(values.rules, 'utf8')),
        from: day(values.from, false),
        to: day(values.to, true),
      });
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      console.error(USAGE);
      process.exitCode = 2;
    }
  } catch (error) {
    // A lead the door would refuse, or a bad rules file: say why, as the API would.
    if (error instanceof LeadflowError || error instanceof z.ZodError || error instanceof SyntaxError) {
      const fields =
        error instanceof LeadflowError ? error.fields.map((f) => `\n  ${f.field}: ${f.message}`) : [];
      console.error(
        `${error instanceof z.ZodError ? z.prettifyError(error) : error.message}${fields.join('')}`,
      );
      process.exitCode = 2;
    } else throw error;
  } finally {
    doc.destroy();
  }
}
