import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  ConfigInvalidError,
  ConfigStore,
  createDocumentClient,
  type DrainResult,
  drainQueue,
  enqueueNotifications,
  MergeAlreadyUndone,
  MergeNotFound,
  type RoutingSection,
  readLoads,
  UnmergeRefused,
  unmergeContacts,
} from '@leadflow/aws';
import { queues, table } from '@leadflow/aws/resources';
import { availabilityOf, type LeadflowConfig, routingRulesSchema } from '@leadflow/core';
import { z } from 'zod';
import { config as bundled } from '../config';

/**
 * `npm run -s admin -- <command>`: changes the runtime configuration (teams, managers' availability,
 * rules) in the table, as a new version, validated whole first. Against the local system by default
 * (DynamoDB on 127.0.0.1:8000, table `leadflow`); against AWS with `--table <name>` and your usual AWS
 * credentials and region. The functions pick a change up within CONFIG_CACHE_SECONDS (10 s).
 */
const USAGE = `usage: npm run -s admin -- <command> [options]

commands
  config [--history]                      the configuration in force and its version (or the last versions)
  manager <id>                            a manager's settings and availability now
  manager <id> [--out-of-office-until <ISO time> | --back] [--inactive | --active]
               [--capacity <n>|none] [--weight <n>]
                                          changes a manager; when that may make them available, their
                                          team's queue is drained at once
  rules <file>                            replaces the routing rules ({"rules": [...], "default": {...}},
                                          or a bare array of rules, keeping the default)
  drain [<teamId>]                        assigns the leads waiting in a team's queue (every team's)
  unmerge <mergeId>                       undoes a merge of two contacts

options
  --table <name>          the stack's table on AWS (output TableName); default: the local system
  --region <region>       AWS region (default: your AWS configuration)
  --endpoint <url>        a DynamoDB endpoint (local: http://127.0.0.1:8000)
  --queue-url <url>       the notifications queue (output NotificationsQueueUrl), for the alerts of drained
                          leads; locally found by name, on AWS without it the dispatcher drains within a minute
  --sqs-endpoint <url>    a local SQS endpoint (http://127.0.0.1:4566)
  --by <who>              recorded with the change (default admin@<hostname>)`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    table: { type: 'string' },
    region: { type: 'string' },
    endpoint: { type: 'string' },
    'queue-url': { type: 'string' },
    'sqs-endpoint': { type: 'string' },
    by: { type: 'string' },
    history: { type: 'boolean', default: false },
    'out-of-office-until': { type: 'string' },
    back: { type: 'boolean', default: false },
    inactive: { type: 'boolean', default: false },
    active: { type: 'boolean', default: false },
    capacity: { type: 'string' },
    weight: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

/** Input the command refuses: printed as is, exit code 2. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Where the command works: the local system unless a table on AWS is named. */
function target() {
  const local = values.endpoint !== undefined || values.table === undefined;
  const region = values.region ?? (local ? 'us-east-1' : undefined);
  const endpoint = local
    ? (values.endpoint ?? `http://127.0.0.1:${process.env.DYNAMODB_PORT ?? 8000}`)
    : undefined;
  const dynamo = new DynamoDBClient({
    ...(region ? { region } : {}),
    ...(endpoint ? { endpoint, credentials: LOCAL_CREDENTIALS } : {}),
  });
  const sqsEndpoint = local
    ? (values['sqs-endpoint'] ?? `http://127.0.0.1:${process.env.SQS_PORT ?? 4566}`)
    : undefined;
  const sqs = new SQSClient({
    ...(region ? { region } : {}),
    ...(sqsEndpoint ? { endpoint: sqsEndpoint, credentials: LOCAL_CREDENTIALS } : {}),
    useQueueUrlAsEndpoint: false,
  });
  return {
    local,
    doc: createDocumentClient(dynamo),
    sqs,
    tableName: values.table ?? table.localName,
    by: values.by ?? `admin@${hostname()}`,
  };
}

type Target = ReturnType<typeof target>;

/** The notifications queue the alerts of drained leads go to, if it can be known. */
async function notificationsQueue(where: Target): Promise<string | undefined> {
  if (values['queue-url']) return values['queue-url'];
  if (!where.local) return undefined;
  try {
    const { QueueUrl } = await where.sqs.send(
      new GetQueueUrlCommand({ QueueName: queues.notifications.localName }),
    );
    return QueueUrl;
  } catch {
    return undefined;
  }
}

const isoTime = z.iso.datetime({ offset: true });
const count = (flag: string, min: number, max: number) =>
  z.coerce
    .number({ error: `--${flag} takes a whole number` })
    .int(`--${flag} takes a whole number`)
    .min(min, `--${flag} is at least ${min}`)
    .max(max, `--${flag} is at most ${max}`);

interface ManagerChange {
  readonly apply: (manager: Record<string, unknown>) => void;
  readonly describe: string[];
  /** The change may make the manager available: drain the team's queue after it. */
  readonly mayFree: boolean;
}

/** What the manager flags ask for; refuses contradictions and malformed values. */
function managerChange(now: Date): ManagerChange | undefined {
  const steps: ((manager: Record<string, unknown>) => void)[] = [];
  const describe: string[] = [];
  let mayFree = false;
  const ooo = values['out-of-office-until'];
  if (ooo !== undefined && values.back)
    throw new UsageError('Give --out-of-office-until or --back, not both');
  if (values.inactive && values.active) throw new UsageError('Give --inactive or --active, not both');
  if (ooo !== undefined) {
    if (!isoTime.safeParse(ooo).success) {
      throw new UsageError(
        `--out-of-office-until takes an ISO time with an offset, e.g. 2026-12-01T09:00:00+09:00`,
      );
    }
    if (Date.parse(ooo) <= now.getTime()) throw new UsageError(`${ooo} is not in the future: use --back`);
    steps.push((manager) => {
      manager.outOfOfficeUntil = ooo;
    });
    describe.push(`out of office until ${ooo}`);
  }
  if (values.back) {
    steps.push((manager) => {
      delete manager.outOfOfficeUntil;
    });
    describe.push('back');
    mayFree = true;
  }
  if (values.inactive || values.active) {
    const active = values.active;
    steps.push((manager) => {
      manager.active = active;
    });
    describe.push(active ? 'active' : 'inactive');
    mayFree ||= active;
  }
  if (values.capacity !== undefined) {
    if (values.capacity === 'none') {
      steps.push((manager) => {
        delete manager.capacity;
      });
      describe.push("capacity: the team's");
    } else {
      const capacity = parsed(count('capacity', 1, 10_000), values.capacity);
      steps.push((manager) => {
        manager.capacity = capacity;
      });
      describe.push(`capacity ${capacity}`);
    }
    mayFree = true;
  }
  if (values.weight !== undefined) {
    const weight = parsed(count('weight', 1, 100), values.weight);
    steps.push((manager) => {
      manager.weight = weight;
    });
    describe.push(`weight ${weight}`);
  }
  if (steps.length === 0) return undefined;
  const apply = (manager: Record<string, unknown>) => {
    for (const step of steps) step(manager);
  };
  return { apply, describe, mayFree };
}

function parsed<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new UsageError(result.error.issues.map((issue) => issue.message).join('; '));
  return result.data;
}

/** The manager's entry in the section, to change in place, and their team's id. */
function findManager(section: RoutingSection, managerId: string) {
  for (const team of section.teams) {
    const manager = team.managers.find((entry) => entry.id === managerId);
    if (manager) return { teamId: team.id, manager: manager as Record<string, unknown> };
  }
  throw new UsageError(`There is no manager "${managerId}"`);
}

/** One line per manager state a person reads: available, or why not. */
async function availabilityLine(
  doc: DynamoDBDocumentClient,
  tableName: string,
  config: LeadflowConfig,
  managerId: string,
): Promise<string> {
  const manager = config.managers.get(managerId);
  if (!manager) return 'unknown';
  const loads = await readLoads(doc, tableName, [managerId]);
  const availability = availabilityOf(manager, config.teamOf(managerId), loads[managerId], new Date());
  const open = loads[managerId]?.openLeads ?? 0;
  return `${availability.available ? 'available' : availability.detail}, ${open} open lead${open === 1 ? '' : 's'}`;
}

async function drain(where: Target, config: LeadflowConfig, teamIds: readonly string[]): Promise<void> {
  const queueUrl = await notificationsQueue(where);
  if (!queueUrl) {
    console.log(
      `not drained now: give --queue-url (the stack's NotificationsQueueUrl) to assign waiting leads at once; the dispatcher drains every minute`,
    );
    return;
  }
  const deps = {
    doc: where.doc,
    tableName: where.tableName,
    config,
    enqueueNotifications: (notifications: Parameters<typeof enqueueNotifications>[2]) =>
      enqueueNotifications(where.sqs, queueUrl, notifications),
  };
  for (const teamId of teamIds) console.log(describeDrain(await drainQueue(deps, teamId)));
}

function describeDrain(result: DrainResult): string {
  const assigned = result.assigned.map((lead) => `${lead.leadId} → ${lead.managerId}`).join(', ');
  const head = `${result.teamId} queue: ${result.assigned.length} lead${result.assigned.length === 1 ? '' : 's'} assigned${assigned ? ` (${assigned})` : ''}`;
  const skipped = result.skipped > 0 ? `; ${result.skipped} passed over (being merged, or unreadable)` : '';
  if (result.stopped === 'nobody_available') {
    return `${head}${skipped}; leads still wait: ${result.reason ?? 'nobody is available'}`;
  }
  if (result.stopped === 'limit') return `${head}${skipped}; more wait for the next run`;
  return `${head}${skipped}; ${result.skipped > 0 ? 'they wait for the next run' : 'the queue is empty'}`;
}

async function run(where: Target): Promise<void> {
  const store = new ConfigStore(where.doc, where.tableName, bundled);
  const [command, argument] = positionals;
  const now = new Date();
  const meta = (change: string) => ({ by: where.by, change, at: now });

  if (command === 'config') {
    if (values.history) {
      for (const item of await store.history()) {
        console.log(
          `${item.version}\t${item.updatedAt ?? '-'}\t${item.updatedBy ?? '-'}\t${item.change ?? ''}`,
        );
      }
      return;
    }
    const current = await store.get();
    const { version, updatedAt, updatedBy, change, section } = current;
    console.log(JSON.stringify({ version, updatedAt, updatedBy, change, ...section }, null, 2));
    return;
  }

  if (command === 'manager' && argument) {
    const change = managerChange(now);
    if (!change) {
      const current = await store.get();
      const { teamId, manager } = findManager(current.section, argument);
      const state = await availabilityLine(where.doc, where.tableName, current.config, argument);
      console.log(`manager ${argument} (team ${teamId}, config version ${current.version}): ${state}`);
      console.log(JSON.stringify(manager, null, 2));
      return;
    }
    const summary = `manager ${argument}: ${change.describe.join(', ')}`;
    let teamId = '';
    const { after } = await store.update((section) => {
      const found = findManager(section, argument);
      teamId = found.teamId;
      change.apply(found.manager);
      return section;
    }, meta(summary));
    console.log(`${summary} (config version ${after.version})`);
    if (change.mayFree) await drain(where, after.config, [teamId]);
    return;
  }

  if (command === 'rules' && argument) {
    let file: unknown;
    try {
      file = JSON.parse(readFileSync(argument, 'utf8'));
    } catch (error) {
      throw new UsageError(`${argument}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const { after } = await store.update(
      (section, current) => {
        // A bare array replaces the rules and keeps the default.
        const routing = Array.isArray(file) ? { rules: file, default: current.config.routing.default } : file;
        const checked = routingRulesSchema.safeParse(routing);
        if (!checked.success) throw new UsageError(`${argument}:\n${z.prettifyError(checked.error)}`);
        return { ...section, routing: routing as RoutingSection['routing'] };
      },
      meta(`rules from ${argument}`),
    );
    console.log(
      `rules: ${after.config.routing.rules.length} rules from ${argument} (config version ${after.version})`,
    );
    return;
  }

  if (command === 'drain') {
    const { config } = await store.get();
    if (argument && !config.teams.has(argument)) throw new UsageError(`There is no team "${argument}"`);
    await drain(where, config, argument ? [argument] : [...config.teams.keys()]);
    return;
  }

  if (command === 'unmerge' && argument) {
    try {
      const result = await unmergeContacts(where.doc, where.tableName, argument);
      console.log(
        `unmerged ${result.mergeId}: contact ${result.loserId} is separate from ${result.survivorId} again ` +
          `(${result.itemsMovedBack} items moved back, ${result.identitiesRestored} identities restored)`,
      );
    } catch (error) {
      // Refusals say what to do; they are the operator's to act on, not failures of the command.
      if (
        error instanceof MergeNotFound ||
        error instanceof MergeAlreadyUndone ||
        error instanceof UnmergeRefused
      ) {
        throw new UsageError(error.message);
      }
      throw error;
    }
    return;
  }

  throw new UsageError(USAGE);
}

if (import.meta.main) {
  if (values.help) {
    console.log(USAGE);
  } else {
    const where = target();
    try {
      await run(where);
    } catch (error) {
      if (error instanceof UsageError || error instanceof ConfigInvalidError) {
        console.error(
          error instanceof ConfigInvalidError ? `refused, nothing changed: ${error.message}` : error.message,
        );
        process.exitCode = 2;
      } else {
        console.error(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
        process.exitCode = 1;
      }
    } finally {
      where.doc.destroy();
      where.sqs.destroy();
    }
  }
}
