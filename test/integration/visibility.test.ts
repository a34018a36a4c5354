import {
  AuditLog,
  ConfigStore,
  ContactRepository,
  type DataContext,
  LeadRepository,
  type LeadView,
  readLoads,
} from '@leadflow/aws';
import {
  ConflictError,
  NotFoundError,
  type Notification,
  PreconditionFailedError,
  RoleForbiddenError,
  ValidationError,
  type Viewer,
  viewerFromClaims,
} from '@leadflow/core';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../config';
import { eventually, person, startTestSystem, type TestSystem } from '../support/system';

/**
 * The data access layer itself, given viewers of each role: listings read only the viewer's partitions,
 * reads by id are checked, and a lead the viewer may not see is `NotFoundError` like one that is not there.
 */

let system: TestSystem;
let data: DataContext;
let leads: LeadRepository;
let contacts: ContactRepository;
const queued: Notification[] = [];

function viewer(username: string, groups: string[]): Viewer {
  const result = viewerFromClaims({ sub: `local|${username}`, username, groups }, config);
  if (!result.ok) throw new Error(result.reason);
  return result.viewer;
}

const admin = viewer('admin@example.com', ['admin']);
const alice = viewer('alice', ['team_lead']); // leads sales and enterprise
const bob = viewer('bob', ['manager']);
const somchai = viewer('somchai', ['team_lead']); // leads thai
const nok = viewer('nok', ['manager']);

/** Lead ids by owner, as routed. */
const byOwner: Record<string, LeadView[]> = {};
const people: Record<string, ReturnType<typeof person>> = {};

async function submit(form: string, tag: string, extra: Record<string, unknown> = {}) {
  const p = person(tag);
  people[tag] = p;
  const response = await system.post(`/v1/forms/${form}`, {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: p.name, email: p.email, phone: p.phoneKr, consent: true, ...extra }),
  });
  expect(response.status).toBe(202);
}

beforeAll(async () => {
  system = await startTestSystem();
  data = {
    doc: system.doc,
    tableName: system.tableName,
    config: async () => config,
    configStore: new ConfigStore(system.doc, system.tableName, config),
    enqueueNotifications: async (notifications) => {
      queued.push(...notifications);
    },
    clock: () => new Date(),
    newId: ulid,
  };
  leads = new LeadRepository(data);
  contacts = new ContactRepository(data);
  // Two sales leads (round robin: one each for alice and bob), two Thai leads, one enterprise lead.
  await submit('demo-contact', 'sales1', { message: 'Catalogue please' });
  await submit('demo-contact', 'sales2', { message: 'Price list please' });
  await submit('demo-contact-th', 'thai1', { message: 'สวัสดี', phone: undefined });
  await submit('demo-contact-th', 'thai2', { message: 'ขอใบเสนอราคา', phone: undefined });
  await submit('demo-contact', 'ent1', { message: 'An enterprise licence for 500 seats' });
  const all = await eventually(async () => {
    const page = await leads.list(admin, { limit: 100 });
    expect(page.items.filter((lead) => lead.ownerId)).toHaveLength(5);
    return page.items;
  }, 20_000);
  for (const lead of all) {
    const owner = lead.ownerId as string;
    byOwner[owner] = [...(byOwner[owner] ?? []), lead];
  }
}, 60_000);

afterAll(async () => {
  await system?.stop();
});

const ids = (page: { items: LeadView[] }) => page.items.map((lead) => lead.leadId).sort();
const owned = (...owners: string[]) =>
  owners.flatMap((owner) => (byOwner[owner] ?? []).map((lead) => lead.leadId)).sort();

describe('lead visibility in the data access layer', () => {
  it('routes the five leads to alice and bob, the Thai desk and an enterprise rep', () => {
    expect(byOwner.alice).toHaveLength(1);
    expect(byOwner.bob).toHaveLength(1);
    expect((byOwner.somchai?.length ?? 0) + (byOwner.nok?.length ?? 0)).toBe(2);
    expect((byOwner.carol?.length ?? 0) + (byOwner.dave?.length ?? 0)).toBe(1);
  });

  it("a manager lists only their own leads, and reads another manager's as not found", async () => {
    expect(ids(await leads.list(bob, { limit: 100 }))).toEqual(owned('bob'));
    const alicesLead = byOwner.alice?.[0]?.leadId as string;
    await expect(leads.get(bob, alicesLead)).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      leads.changeStage(bob, alicesLead, { status: 'contacted' }, undefined),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(leads.addNote(bob, alicesLead, 'peek')).rejects.toBeInstanceOf(NotFoundError);
    await expect(leads.get(bob, 'no-such-lead')).rejects.toBeInstanceOf(NotFoundError);
    await expect(leads.list(bob, { limit: 10, owner: 'alice' })).rejects.toBeInstanceOf(RoleForbiddenError);
  });

  it('a team lead sees the teams they lead (sales and enterprise) and their own, never the Thai desk', async () => {
    expect(ids(await leads.list(alice, { limit: 100 }))).toEqual(owned('alice', 'bob', 'carol', 'dave'));
    expect(ids(await leads.list(somchai, { limit: 100 }))).toEqual(owned('somchai', 'nok'));
    expect(ids(await leads.list(alice, { limit: 100, owner: 'bob' }))).toEqual(owned('bob'));
    await expect(leads.list(alice, { limit: 10, owner: 'nok' })).rejects.toBeInstanceOf(RoleForbiddenError);
    const thaiLead = [...(byOwner.somchai ?? []), ...(byOwner.nok ?? [])][0]?.leadId as string;
    await expect(leads.get(alice, thaiLead)).rejects.toBeInstanceOf(NotFoundError);
    expect((await leads.get(somchai, thaiLead)).lead.leadId).toBe(thaiLead);
  });

  it('an admin sees every lead; pages follow the cursor without gaps or repeats', async () => {
    const first = await leads.list(admin, { limit: 2 });
    expect(first.items).toHaveLength(2);
    const second = await leads.list(admin, { limit: 2, cursor: first.nextCursor });
    const third = await leads.list(admin, { limit: 2, cursor: second.nextCursor });
    const seen = [...first.items, ...second.items, ...third.items].map((lead) => lead.leadId);
    expect(new Set(seen).size).toBe(5);
    expect(seen.sort()).toEqual(owned('alice', 'bob', 'somchai', 'nok', 'carol', 'dave'));
    expect(third.nextCursor).toBeUndefined();
    // Newest first.
    const times = [...first.items, ...second.items, ...third.items].map((lead) => lead.capturedAt);
    expect(times).toEqual([...times].sort().reverse());
  });

  it('filters by priority and sorts urgent first', async () => {
    const high = await leads.list(admin, { limit: 100, priority: ['high'] });
    expect(ids(high)).toEqual(owned('carol', 'dave'));
    const sorted = await leads.list(admin, { limit: 100, sort: 'priority' });
    expect(sorted.items[0]?.priority).toBe('high');
  });
});

describe('the funnel through the repository', () => {
  it('acknowledges once, moves through the stages, guards with If-Match and validates transitions', async () => {
    const lead = byOwner.bob?.[0] as LeadView;
    await expect(leads.acknowledge(alice, lead.leadId)).rejects.toBeInstanceOf(RoleForbiddenError);
    const first = await leads.acknowledge(bob, lead.leadId);
    expect(first.acknowledgedNow).toBe(true);
    expect(first.lead.firstResponse?.via).toBe('acknowledged');
    const again = await leads.acknowledge(bob, lead.leadId);
    expect(again.acknowledgedNow).toBe(false);
    expect(again.lead.acknowledged?.at).toBe(first.lead.acknowledged?.at);

    await expect(
      leads.changeStage(bob, lead.leadId, { status: 'won', amount: 100, currency: 'USD' }, undefined),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(leads.changeStage(bob, lead.leadId, { status: 'lost' }, undefined)).rejects.toBeInstanceOf(
      ValidationError,
    );
    const contacted = await leads.changeStage(bob, lead.leadId, { status: 'contacted' }, first.lead.etag);
    // A stale ETag changes nothing.
    await expect(
      leads.changeStage(bob, lead.leadId, { status: 'qualified' }, first.lead.etag),
    ).rejects.toBeInstanceOf(PreconditionFailedError);
    expect((await leads.get(bob, lead.leadId)).lead.status).toBe('contacted');
    await leads.changeStage(bob, lead.leadId, { status: 'qualified' }, contacted.etag);
    const loadBefore = (await readLoads(system.doc, system.tableName, ['bob'])).bob?.openLeads ?? 0;
    const won = await leads.changeStage(
      bob,
      lead.leadId,
      { status: 'won', amount: 1_500_000, currency: 'KRW' },
      undefined,
    );
    expect(won.status).toBe('won');
    expect(won.funnel).toMatchObject({ amount: 1_500_000, currency: 'KRW' });
    expect((await readLoads(system.doc, system.tableName, ['bob'])).bob?.openLeads).toBe(loadBefore - 1);
    await expect(
      leads.changeStage(bob, lead.leadId, { status: 'lost', reason: 'oops' }, undefined),
    ).rejects.toBeInstanceOf(ConflictError);
    const detail = await leads.get(bob, lead.leadId);
    const changes = detail.timeline.filter((entry) => entry.kind === 'status_changed');
    expect(changes.map((entry) => [entry.from, entry.to, entry.actor])).toEqual([
      ['new', 'contacted', 'bob'],
      ['contacted', 'qualified', 'bob'],
      ['qualified', 'won', 'bob'],
    ]);
    expect(detail.timeline.some((entry) => entry.kind === 'acknowledged' && entry.actor === 'bob')).toBe(
      true,
    );
  });

  it('notes and tasks are seen by whoever sees the lead; tasks go only to the owner unless a team lead gives them', async () => {
    const lead = byOwner.alice?.[0] as LeadView;
    const note = await leads.addNote(alice, lead.leadId, 'Called, no answer <b>yet</b>');
    expect(note.kind).toBe('note');
    await expect(
      leads.addTask(bob, lead.leadId, {
        type: 'call',
        dueAt: new Date(Date.now() + 3_600_000).toISOString(),
      }),
    ).rejects.toBeInstanceOf(NotFoundError);
    const task = await leads.addTask(alice, lead.leadId, {
      type: 'call',
      dueAt: new Date(Date.now() + 3_600_000).toISOString(),
      assigneeId: 'bob',
      title: 'Call back',
    });
    expect(task.assigneeId).toBe('bob');
    const mine = await leads.myTasks(bob, { limit: 10 });
    expect(mine.items.map((t) => t.taskId)).toContain(task.taskId);
    // Bob cannot see alice's lead, so he cannot change its task through it.
    await expect(leads.updateTask(bob, lead.leadId, task.taskId, { status: 'done' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    const done = await leads.updateTask(alice, lead.leadId, task.taskId, { status: 'done' }, task.etag);
    expect(done.status).toBe('done');
    await expect(
      leads.updateTask(alice, lead.leadId, task.taskId, { status: 'open' }, task.etag),
    ).rejects.toBeInstanceOf(PreconditionFailedError);
    const detail = await leads.get(alice, lead.leadId);
    expect(detail.timeline.map((entry) => entry.kind)).toEqual(
      expect.arrayContaining(['note', 'task_created', 'task_done']),
    );
    expect(detail.tasks.map((t) => t.status)).toEqual(['done']);
  });

  it("a team lead reassigns by the team's fairness rules, recorded and audited; the old owner loses sight of it", async () => {
    const thaiLead =
      [...(byOwner.somchai ?? []), ...(byOwner.nok ?? [])].find((lead) => lead.ownerId === 'nok') ??
      (byOwner.somchai?.[0] as LeadView);
    const from = thaiLead.ownerId as string;
    const to = from === 'nok' ? 'somchai' : 'nok';
    const before = queued.length;
    await expect(leads.assign(nok, thaiLead.leadId, {})).rejects.toBeInstanceOf(
      from === 'nok' ? RoleForbiddenError : NotFoundError,
    );
    const moved = await leads.assign(somchai, thaiLead.leadId, {
      reason: 'Customer asked for a callback today',
    });
    expect(moved.ownerId).toBe(to);
    expect(moved.assignment.reason).toContain('Customer asked for a callback today');
    expect(queued.slice(before).map((n) => [n.kind, n.leadId])).toEqual([['manager_alert', thaiLead.leadId]]);
    const oldOwner = from === 'nok' ? nok : somchai;
    if (from === 'nok')
      await expect(leads.get(oldOwner, thaiLead.leadId)).rejects.toBeInstanceOf(NotFoundError);
    const trail = await new AuditLog(data).list(admin, { limit: 10, action: 'lead.assigned' });
    expect(trail.items[0]).toMatchObject({ actor: 'somchai', target: `lead:${thaiLead.leadId}` });
    // Passing it on to someone who is not there is refused, and changes nothing.
    await expect(leads.assign(somchai, thaiLead.leadId, { managerId: 'ghost' })).rejects.toBeInstanceOf(
      ConflictError,
    );
  });
});

describe('contact visibility in the data access layer', () => {
  it('finds a contact by messy email or phone only for those who may see it', async () => {
    const owner = byOwner.bob?.[0] as LeadView;
    const p = Object.values(people).find((candidate) => candidate.name === owner.capture.name);
    if (!p) throw new Error("no person for bob's lead");
    const messy = `  ${p.email.toUpperCase()}  `;
    expect((await contacts.find(bob, { email: messy })).items.map((c) => c.contactId)).toEqual([
      owner.contactId,
    ]);
    expect((await contacts.find(nok, { email: messy })).items).toEqual([]);
    const phone = p.phoneKr.replace(/-/g, ' ');
    expect((await contacts.find(alice, { phone })).items.map((c) => c.contactId)).toEqual([owner.contactId]);
    await expect(contacts.get(nok, owner.contactId)).rejects.toBeInstanceOf(NotFoundError);
    const detail = await contacts.get(bob, owner.contactId);
    expect(detail.leads.map((lead) => lead.leadId)).toEqual([owner.leadId]);
    expect(detail.contact.identities.every((identity) => identity.provenance === 'claimed')).toBe(true);
  });

  it('sets declared custom fields and tags, refusing undeclared ones and stale versions', async () => {
    const owner = byOwner.bob?.[0] as LeadView;
    await expect(
      contacts.patch(bob, owner.contactId, { fields: { shoe_size: 42 } }, undefined),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      contacts.patch(bob, owner.contactId, { fields: { industry: 'aerospace' } }, undefined),
    ).rejects.toBeInstanceOf(ValidationError);
    const patched = await contacts.patch(
      bob,
      owner.contactId,
      { tags: ['vip', 'Q4'.toLowerCase()], fields: { company: 'Acme', budget: 5000, industry: 'retail' } },
      '"0"',
    );
    expect(patched).toMatchObject({
      tags: ['q4', 'vip'],
      fields: { company: 'Acme', budget: 5000, industry: 'retail' },
    });
    await expect(contacts.patch(bob, owner.contactId, { tags: [] }, '"0"')).rejects.toBeInstanceOf(
      PreconditionFailedError,
    );
    const cleared = await contacts.patch(bob, owner.contactId, { fields: { budget: null } }, patched.etag);
    expect(cleared.fields).toEqual({ company: 'Acme', industry: 'retail' });
    await expect(contacts.patch(nok, owner.contactId, { tags: ['x'] }, undefined)).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('merges two contacts for a team lead over both, and undoes the merge exactly', async () => {
    const [a, b] = [byOwner.alice?.[0], byOwner.bob?.[0]] as [LeadView, LeadView];
    await expect(contacts.merge(bob, b.contactId, a.contactId)).rejects.toBeInstanceOf(RoleForbiddenError);
    const merged = await contacts.merge(alice, a.contactId, b.contactId);
    expect(merged.survivorId).toBe(a.contactId);
    const survivor = await contacts.get(alice, a.contactId);
    expect(survivor.leads.map((lead) => lead.leadId).sort()).toEqual([a.leadId, b.leadId].sort());
    const resolved = await contacts.get(alice, b.contactId);
    expect(resolved.resolvedFrom).toBe(b.contactId);
    const undone = await contacts.undoMerge(alice, merged.mergeId);
    expect(undone.loserId).toBe(b.contactId);
    expect((await contacts.get(alice, b.contactId)).leads.map((lead) => lead.leadId)).toEqual([b.leadId]);
    await expect(contacts.undoMerge(alice, merged.mergeId)).rejects.toBeInstanceOf(ConflictError);
  });
});
