import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  ConfigInvalidError,
  ConfigStore,
  ConfigVersionConflictError,
  drainQueue,
  keys,
  type RoutingSection,
  routeCapture,
} from '@leadflow/aws';
import { table } from '@leadflow/aws/resources';
import type { CaptureEvent, Notification } from '@leadflow/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config as bundled } from '../../config';
import { lambdaContext } from '../../local/lambda-context';
import { provisionTable } from '../../local/provision';
import { loadEvent } from '../support/events';
import { person, startTestSystem, type TestSystem } from '../support/system';

// DynamoDB Local from the test system, and a fresh table per test: the store starts empty, and the system's
// own router and dispatcher never touch it.
let system: TestSystem;
let dynamo: DynamoDBClient;

beforeAll(async () => {
  // The dispatcher's entry point below reads the configuration afresh on every invocation.
  system = await startTestSystem({ configCacheSeconds: 0 });
  dynamo = new DynamoDBClient({
    endpoint: system.urls.dynamodb,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});

afterAll(async () => {
  dynamo?.destroy();
  await system?.stop();
});

async function freshTable(): Promise<string> {
  const name = `cfg-${randomUUID().slice(0, 8)}`;
  await provisionTable(dynamo, table, name);
  return name;
}

const at = (iso = new Date().toISOString()) => new Date(iso);
const meta = (change: string) => ({ by: 'test', change, at: at() });

/** Sets fields of one manager in a routing section (a copy the store handed out). */
function setManager(section: RoutingSection, id: string, fields: Record<string, unknown>): RoutingSection {
  const manager = section.teams.flatMap((team) => team.managers).find((entry) => entry.id === id);
  if (!manager) throw new Error(`No manager ${id}`);
  Object.assign(manager, fields);
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) delete (manager as Record<string, unknown>)[key];
  }
  return section;
}

async function historyOf(tableName: string) {
  const { Items } = await system.doc.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.config().pk },
      ConsistentRead: true,
    }),
  );
  return (Items ?? []).map((item) => ({ sk: item.sk, version: item.version, change: item.change }));
}

describe('ConfigStore on DynamoDB Local', () => {
  it('serves the bundled configuration as version 0 before any seed', async () => {
    const store = new ConfigStore(system.doc, await freshTable(), bundled);
    const current = await store.get();
    expect(current.version).toBe(0);
    expect(current.config).toBe(bundled);
  });

  it('seeds version 1 once: a restart or a redeploy changes nothing, runtime changes survive', async () => {
    const tableName = await freshTable();
    const store = new ConfigStore(system.doc, tableName, bundled);
    expect(await store.seed(meta('seed'))).toBe(true);
    await store.update((section) => setManager(section, 'bob', { weight: 3 }), meta('bob weight 3'));
    expect(await store.seed(meta('seed again'))).toBe(false);
    const current = await store.get();
    expect(current.version).toBe(2);
    expect(current.config.managers.get('bob')?.weight).toBe(3);
    expect(await historyOf(tableName)).toEqual([
      { sk: 'CURRENT', version: 2, change: 'bob weight 3' },
      { sk: 'V#0000000001', version: 1, change: 'seed' },
      { sk: 'V#0000000002', version: 2, change: 'bob weight 3' },
    ]);
  });

  it('refuses a change made from a stale version, and keeps the current one', async () => {
    const store = new ConfigStore(system.doc, await freshTable(), bundled);
    await store.seed(meta('seed'));
    const stale = await store.get();
    await store.update((section) => setManager(section, 'alice', { capacity: 5 }), meta('alice capacity 5'));
    const error = await store
      .put(setManager(stale.section, 'bob', { active: false }), stale.version, meta('from stale'))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigVersionConflictError);
    const current = await store.get();
    expect(current.version).toBe(2);
    expect(current.config.managers.get('alice')?.capacity).toBe(5);
    expect(current.config.managers.get('bob')?.active).toBe(true);
  });

  it('lets concurrent writers all land, one version each, by re-reading on a conflict', async () => {
    const tableName = await freshTable();
    const store = new ConfigStore(system.doc, tableName, bundled);
    await store.seed(meta('seed'));
    const managers = ['alice', 'bob', 'somchai', 'nok', 'carol', 'dave'];
    const results = await Promise.all(
      managers.map((id, index) =>
        store.update(
          (section) => setManager(section, id, { weight: index + 2 }),
          meta(`${id} weight ${index + 2}`),
          managers.length + 1,
        ),
      ),
    );
    expect(results.map((result) => result.after.version).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7]);
    const current = await store.get();
    expect(current.version).toBe(7);
    managers.forEach((id, index) => {
      expect(current.config.managers.get(id)?.weight).toBe(index + 2);
    });
    expect((await historyOf(tableName)).filter((item) => item.sk !== 'CURRENT')).toHaveLength(7);
  });

  it('refuses a change that would leave routing without a valid configuration; nothing is written', async () => {
    const tableName = await freshTable();
    const store = new ConfigStore(system.doc, tableName, bundled);
    await store.seed(meta('seed'));
    // Every sales manager inactive: the team could take no lead.
    const error = await store
      .update(
        (section) => setManager(setManager(section, 'alice', { active: false }), 'bob', { active: false }),
        meta('nobody in sales'),
      )
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigInvalidError);
    expect((error as ConfigInvalidError).issues).toMatch(/at least one active manager/);
    // A rule naming a team that does not exist.
    const rule = await store
      .update(
        (section) => ({
          ...section,
          // biome-ignore lint/suspicious/noThenProperty: `then` is the configuration's word, and a rule is never awaited
          routing: { rules: [{ id: 'nowhere', when: {}, then: { teamId: 'ghost' } }] },
        }),
        meta('rule to a ghost team'),
      )
      .catch((caught: unknown) => caught);
    expect(rule).toBeInstanceOf(ConfigInvalidError);
    expect((rule as ConfigInvalidError).issues).toMatch(/unknown team ghost/);
    expect((await store.get()).version).toBe(1);
    expect(await historyOf(tableName)).toHaveLength(2);
  });
});

function capture(p: ReturnType<typeof person>, receivedAt: string): CaptureEvent {
  return {
    version: 1,
    submissionId: ulid(),
    channel: 'web_form',
    sourceId: 'demo-contact',
    teamId: 'sales',
    receivedAt,
    language: 'en',
    contact: { name: p.name, email: p.email, emailKey: p.emailKey },
    consent: false,
    urgent: false,
    answers: {},
    source: { utm: {} },
  };
}

describe('drainQueue on DynamoDB Local', () => {
  async function setup() {
    const tableName = await freshTable();
    const store = new ConfigStore(system.doc, tableName, bundled);
    await store.seed(meta('seed'));
    const sent: Notification[] = [];
    const deps = async () => ({
      doc: system.doc,
      tableName,
      config: (await store.get()).config,
      newId: ulid,
      enqueueNotifications: async (notifications: readonly Notification[]) => {
        sent.push(...notifications);
      },
    });
    const queue = async () => {
      const { Items } = await system.doc.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :queue',
          ExpressionAttributeValues: { ':queue': keys.queue('sales') },
        }),
      );
      return (Items ?? []).map((item) => item.leadId as string);
    };
    const get = async (key: Record<string, string>) =>
      (await system.doc.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }))).Item;
    return { tableName, store, sent, deps, queue, get };
  }

  const until = new Date(Date.now() + 24 * 3_600_000).toISOString();

  it('queues a lead nobody can take, then assigns it the moment someone is available', async () => {
    const { store, sent, deps, queue, get } = await setup();
    await store.update(
      (section) =>
        setManager(setManager(section, 'alice', { outOfOfficeUntil: until }), 'bob', {
          outOfOfficeUntil: until,
        }),
      meta('sales away'),
    );
    const p = person('drain');
    const routed = await routeCapture(await deps(), capture(p, new Date().toISOString()));
    expect(routed.assignment.ownerId).toBeUndefined();
    expect(routed.assignment.strategy).toBe('queue');
    expect(sent.map((note) => [note.kind, 'recipientId' in note ? note.recipientId : undefined])).toEqual([
      ['team_warning', 'alice'],
    ]);
    expect(await queue()).toEqual([routed.leadId]);

    // Still nobody: the lead waits.
    const waiting = await drainQueue(await deps(), 'sales');
    expect(waiting).toMatchObject({ stopped: 'nobody_available', assigned: [] });
    expect(waiting.reason).toMatch(/Nobody is available in sales/);

    await store.update(
      (section) => setManager(section, 'bob', { outOfOfficeUntil: undefined }),
      meta('bob back'),
    );
    sent.length = 0;
    const drained = await drainQueue(await deps(), 'sales');
    expect(drained).toMatchObject({
      stopped: 'empty',
      assigned: [{ leadId: routed.leadId, contactId: routed.contactId, managerId: 'bob' }],
    });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      kind: 'manager_alert',
      notificationId: `${routed.leadId}:dequeued:manager_alert`,
      leadId: routed.leadId,
      assignment: { ownerId: 'bob', teamId: 'sales', strategy: 'round_robin' },
    });
    expect(await queue()).toEqual([]);

    const lead = await get(keys.lead(routed.contactId, routed.leadId));
    expect(lead).toMatchObject({ ownerId: 'bob', gsi1pk: keys.owner('bob') });
    expect(lead?.queuedAt).toBeUndefined();
    expect(await get(keys.contact(routed.contactId))).toMatchObject({
      ownerId: 'bob',
      gsi1pk: keys.owner('bob'),
    });
    expect(await get(keys.managerLoad('bob'))).toMatchObject({ openLeads: 1 });
    const { Items: timeline } = await system.doc.send(
      new QueryCommand({
        TableName: (await deps()).tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :tl)',
        ExpressionAttributeValues: { ':pk': keys.contact(routed.contactId).pk, ':tl': 'TL#' },
      }),
    );
    expect(timeline?.find((entry) => entry.event === 'dequeued')).toMatchObject({
      channel: 'system',
      leadId: routed.leadId,
      assignment: { ownerId: 'bob' },
    });

    // Nothing left: a second run assigns and sends nothing.
    expect(await drainQueue(await deps(), 'sales')).toMatchObject({ stopped: 'empty', assigned: [] });
    expect(sent).toHaveLength(1);
  });

  it('assigns the oldest first and takes turns by round robin, sharing the queue between the two', async () => {
    const { store, sent, deps, queue } = await setup();
    await store.update(
      (section) =>
        setManager(setManager(section, 'alice', { outOfOfficeUntil: until }), 'bob', {
          outOfOfficeUntil: until,
        }),
      meta('sales away'),
    );
    const start = Date.now();
    const leads: string[] = [];
    for (let index = 0; index < 4; index++) {
      const routed = await routeCapture(
        await deps(),
        capture(person(`order${index}`), new Date(start + index * 1000).toISOString()),
      );
      leads.push(routed.leadId);
    }
    expect(await queue()).toEqual(leads);
    await store.update(
      (section) =>
        setManager(setManager(section, 'alice', { outOfOfficeUntil: undefined }), 'bob', {
          outOfOfficeUntil: undefined,
        }),
      meta('sales back'),
    );
    sent.length = 0;
    const drained = await drainQueue(await deps(), 'sales');
    expect(drained.assigned.map((lead) => lead.leadId)).toEqual(leads);
    const owners = drained.assigned.map((lead) => lead.managerId);
    expect(owners.filter((id) => id === 'alice')).toHaveLength(2);
    expect(owners.filter((id) => id === 'bob')).toHaveLength(2);
    // Turns, not a burst: never the same manager twice in a row.
    owners.slice(1).forEach((owner, index) => {
      expect(owner).not.toBe(owners[index]);
    });
    expect(sent.map((note) => note.notificationId)).toEqual(
      leads.map((leadId) => `${leadId}:dequeued:manager_alert`),
    );
  });
});

describe('drainQueue and a malformed queue item', () => {
  it('passes over an item that is not a lead, and still assigns the leads behind it', async () => {
    const tableName = await freshTable();
    const store = new ConfigStore(system.doc, tableName, bundled);
    await store.seed(meta('seed'));
    await system.doc.send(
      new PutCommand({
        TableName: tableName,
        Item: { pk: 'CONTACT#broken', sk: 'LEAD#broken', gsi1pk: keys.queue('sales'), gsi1sk: 'LEAD#0000' },
      }),
    );
    const sent: Notification[] = [];
    const deps = {
      doc: system.doc,
      tableName,
      config: (await store.get()).config,
      newId: ulid,
      enqueueNotifications: async (notifications: readonly Notification[]) => {
        sent.push(...notifications);
      },
    };
    const until = new Date(Date.now() + 3_600_000).toISOString();
    await store.update(
      (section) =>
        setManager(setManager(section, 'alice', { outOfOfficeUntil: until }), 'bob', {
          outOfOfficeUntil: until,
        }),
      meta('sales away'),
    );
    const routed = await routeCapture(
      { ...deps, config: (await store.get()).config },
      capture(person('behind'), new Date().toISOString()),
    );
    expect(routed.assignment.ownerId).toBeUndefined();
    await store.update(
      (section) => setManager(section, 'alice', { outOfOfficeUntil: undefined }),
      meta('alice'),
    );
    const drained = await drainQueue({ ...deps, config: (await store.get()).config }, 'sales');
    expect(drained).toMatchObject({
      stopped: 'empty',
      skipped: 1,
      unreadable: ['CONTACT#broken/LEAD#broken'],
      assigned: [{ leadId: routed.leadId, managerId: 'alice' }],
    });
  });
});

describe('the dispatcher entry point, fed the scheduled-event sample', () => {
  it("drains the system's queues: a waiting lead reaches bob's inbox once he is back", async () => {
    const dispatcher = (await import('../../functions/dispatcher/handler')).handler as unknown as (
      event: ScheduledEvent,
      context: Context,
    ) => Promise<{ assigned: number }>;
    const store = new ConfigStore(system.doc, system.tableName, bundled);
    const until = new Date(Date.now() + 3_600_000).toISOString();
    await store.update(
      (section) =>
        setManager(setManager(section, 'alice', { outOfOfficeUntil: until }), 'bob', {
          outOfOfficeUntil: until,
        }),
      meta('sales away'),
    );
    const p = person('tick');
    const routed = await routeCapture(
      {
        doc: system.doc,
        tableName: system.tableName,
        config: (await store.get()).config,
        newId: ulid,
        enqueueNotifications: async () => undefined,
      },
      capture(p, new Date().toISOString()),
    );
    expect(routed.assignment.strategy).toBe('queue');
    const tick = loadEvent<ScheduledEvent>('eventbridge/scheduled.json');
    expect(await dispatcher(tick, lambdaContext('dispatcher', 60, 256))).toEqual({ assigned: 0 });

    await store.update(
      (section) => setManager(section, 'bob', { outOfOfficeUntil: undefined }),
      meta('bob back'),
    );
    expect(await dispatcher(tick, lambdaContext('dispatcher', 60, 256))).toEqual({ assigned: 1 });
    const emails = await system.waitForEmails((list) =>
      list.some(
        (email) => email.subject.includes(p.name) && email.destination.to.some((to) => to.includes('bob@')),
      ),
    );
    expect(emails.filter((email) => email.subject.includes(p.name))).toHaveLength(1);
    await store.update(
      (section) => setManager(section, 'alice', { outOfOfficeUntil: undefined }),
      meta('alice back'),
    );
  });
});
