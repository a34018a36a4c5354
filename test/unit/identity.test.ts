import {
  type CaptureEvent,
  type CaptureIdentity,
  captureEventSchema,
  captureIdentities,
  type IdentityInput,
  type IdentityPlan,
  type KnownContact,
  type Provenance,
  planIdentities,
  survivorOf,
  vouchedIdentities,
} from '@leadflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** A store as the adapter keeps it: identity claims and contacts, which a plan changes. */
interface World {
  readonly claims: Map<string, { contactId: string; provenance: Provenance }>;
  readonly contacts: Map<string, ModelContact>;
}

interface ModelContact {
  contactId: string;
  createdAt: string;
  ownerId?: string;
  verified: Set<string>;
  duplicateOf?: string;
  possibleDuplicates: Set<string>;
  separatedFrom: Set<string>;
}

const POOL = [
  'email:ana@example.com',
  'email:bo@example.com',
  'phone:+821012345678',
  'phone:+66812345678',
  'telegram:5123456789',
  'whatsapp:+821012345678',
  'messenger:998877',
  'chat:visitor-1',
];
const provenance = fc.constantFrom<Provenance>('verified', 'claimed');
const day = (n: number) => new Date(Date.UTC(2026, 0, 1 + n)).toISOString();

/** A consistent store: each identity claimed by at most one contact, verified marks agreeing with claims. */
const worlds = fc
  .record({
    contacts: fc.array(
      fc.record({
        created: fc.nat(5),
        owner: fc.option(fc.constantFrom('m1', 'm2'), { nil: undefined }),
        duplicateOf: fc.option(fc.nat(4), { nil: undefined }),
        separatedFrom: fc.option(fc.nat(4), { nil: undefined }),
      }),
      { minLength: 1, maxLength: 5 },
    ),
    claims: fc.array(fc.option(fc.tuple(fc.nat(4), provenance), { nil: undefined }), {
      minLength: POOL.length,
      maxLength: POOL.length,
    }),
  })
  .map(({ contacts, claims }): World => {
    const world: World = { claims: new Map(), contacts: new Map() };
    contacts.forEach((contact, index) => {
      const duplicateOf = contact.duplicateOf === undefined ? undefined : `c${contact.duplicateOf}`;
      world.contacts.set(`c${index}`, {
        contactId: `c${index}`,
        createdAt: day(contact.created),
        ...(contact.owner ? { ownerId: contact.owner } : {}),
        verified: new Set(),
        // A contact is made a duplicate only of an older one.
        ...(duplicateOf && duplicateOf < `c${index}` ? { duplicateOf } : {}),
        possibleDuplicates: new Set(duplicateOf && duplicateOf < `c${index}` ? [duplicateOf] : []),
        separatedFrom: new Set(contact.separatedFrom === undefined ? [] : [`c${contact.separatedFrom}`]),
      });
    });
    // Separations are recorded on both contacts, as an undo writes them.
    for (const contact of world.contacts.values()) {
      for (const other of [...contact.separatedFrom]) {
        const peer = world.contacts.get(other);
        if (peer && peer !== contact) peer.separatedFrom.add(contact.contactId);
        else contact.separatedFrom.delete(other);
      }
    }
    POOL.forEach((key, index) => {
      const claim = claims[index];
      const owner = claim && world.contacts.get(`c${claim[0]}`);
      if (!claim || !owner) return;
      world.claims.set(key, { contactId: owner.contactId, provenance: claim[1] });
      if (claim[1] === 'verified') owner.verified.add(key);
    });
    return world;
  });

const captures = fc
  .uniqueArray(fc.constantFrom(...POOL), { minLength: 1, maxLength: 5 })
  .chain((keys) =>
    fc
      .array(provenance, { minLength: keys.length, maxLength: keys.length })
      .map((marks): CaptureIdentity[] => keys.map((key, i) => ({ key, provenance: marks[i] as Provenance }))),
  );

const worldsWithoutSeparations = worlds.map((world) => {
  for (const contact of world.contacts.values()) contact.separatedFrom.clear();
  return world;
});

function inputOf(world: World, identities: readonly CaptureIdentity[]): IdentityInput {
  const claims = identities.flatMap(({ key }) => {
    const claim = world.claims.get(key);
    return claim ? [{ key, ...claim }] : [];
  });
  const ids = new Set(claims.map((claim) => claim.contactId));
  const contacts: KnownContact[] = [...world.contacts.values()]
    .filter((contact) => ids.has(contact.contactId))
    .map((contact) => ({
      contactId: contact.contactId,
      createdAt: contact.createdAt,
      ownerId: contact.ownerId,
      verifiedIdentities: [...contact.verified],
      duplicateOf: contact.duplicateOf,
      possibleDuplicates: [...contact.possibleDuplicates],
      separatedFrom: [...contact.separatedFrom],
    }));
  return { identities, claims, contacts };
}

const hasVerified = (world: World, contactId: string) =>
  (world.contacts.get(contactId)?.verified.size ?? 0) > 0;

/** The contact a plan lands the capture on; `created` names a new one. */
function landing(plan: IdentityPlan, created: string): string {
  return plan.kind === 'new' || plan.kind === 'new_linked' ? created : plan.contactId;
}

/** Executes a plan on the model store as the adapter does on DynamoDB. */
function apply(world: World, plan: IdentityPlan, created: string): void {
  const target = landing(plan, created);
  const link = (a: string, b: string) => {
    world.contacts.get(a)?.possibleDuplicates.add(b);
    world.contacts.get(b)?.possibleDuplicates.add(a);
  };
  if (plan.kind === 'merge') {
    const survivor = world.contacts.get(target) as ModelContact;
    for (const loserId of plan.losers) {
      const loser = world.contacts.get(loserId) as ModelContact;
      for (const claim of world.claims.values()) if (claim.contactId === loserId) claim.contactId = target;
      for (const key of loser.verified) survivor.verified.add(key);
      // A contact separated from the loser is separated from everything the loser became part of.
      for (const id of loser.separatedFrom) survivor.separatedFrom.add(id);
      world.contacts.delete(loserId);
    }
  }
  if (plan.kind === 'new' || plan.kind === 'new_linked') {
    world.contacts.set(target, {
      contactId: target,
      createdAt: day(99),
      ...(plan.kind === 'new_linked' && plan.ownerId ? { ownerId: plan.ownerId } : {}),
      verified: new Set(),
      ...(plan.kind === 'new_linked' ? { duplicateOf: plan.linkedTo } : {}),
      possibleDuplicates: new Set(),
      separatedFrom: new Set(),
    });
    if (plan.kind === 'new_linked') for (const other of plan.duplicates) link(target, other);
  }
  const contact = world.contacts.get(target) as ModelContact;
  for (const identity of plan.attach) {
    world.claims.set(identity.key, { contactId: target, provenance: identity.provenance });
    if (identity.provenance === 'verified') contact.verified.add(identity.key);
  }
  for (const key of plan.verify) {
    world.claims.set(key, { contactId: target, provenance: 'verified' });
    contact.verified.add(key);
  }
  for (const [a, b] of plan.links) link(a, b);
}

describe('planIdentities (pure, property-tested)', () => {
  it('never merges on a capture whose identities are all claimed', () => {
    fc.assert(
      fc.property(worlds, captures, (world, identities) => {
        const claimed = identities.map(({ key }) => ({ key, provenance: 'claimed' as const }));
        const plan = planIdentities(inputOf(world, claimed));
        expect(plan.kind).not.toBe('merge');
        expect(plan.verify).toEqual([]);
      }),
    );
  });

  it('never adds a claimed identity to a contact that has a verified one', () => {
    fc.assert(
      fc.property(worlds, captures, (world, identities) => {
        const plan = planIdentities(inputOf(world, identities));
        if (plan.kind !== 'join' && plan.kind !== 'merge') return;
        const landed = [plan.contactId, ...(plan.kind === 'merge' ? plan.losers : [])];
        if (landed.some((id) => hasVerified(world, id)) || plan.kind === 'merge') {
          expect(plan.attach.filter((identity) => identity.provenance === 'claimed')).toEqual([]);
        }
      }),
    );
  });

  it('lands a capture on the contact its verified identity points at (or the merge that contains it)', () => {
    fc.assert(
      fc.property(worldsWithoutSeparations, captures, (world, identities) => {
        const plan = planIdentities(inputOf(world, identities));
        for (const identity of identities) {
          const claim = world.claims.get(identity.key);
          if (identity.provenance !== 'verified' || claim?.provenance !== 'verified') continue;
          expect(plan.kind === 'join' || plan.kind === 'merge').toBe(true);
          if (plan.kind !== 'join' && plan.kind !== 'merge') return;
          expect([plan.contactId, ...(plan.kind === 'merge' ? plan.losers : [])]).toContain(claim.contactId);
          expect(plan.matchedBy?.provenance).toBe('verified');
        }
      }),
    );
  });

  it('merges only contacts that verified identities on both sides point at, into the usual survivor', () => {
    fc.assert(
      fc.property(worldsWithoutSeparations, captures, (world, identities) => {
        const plan = planIdentities(inputOf(world, identities));
        const proven = new Set(
          identities.flatMap(({ key, provenance }) => {
            const claim = world.claims.get(key);
            return provenance === 'verified' && claim?.provenance === 'verified' ? [claim.contactId] : [];
          }),
        );
        if (proven.size < 2) {
          expect(plan.kind).not.toBe('merge');
          return;
        }
        expect(plan.kind).toBe('merge');
        if (plan.kind !== 'merge') return;
        const contacts = [...proven].map((id) => world.contacts.get(id) as ModelContact);
        expect(plan.contactId).toBe(survivorOf(contacts).contactId);
        expect(new Set([plan.contactId, ...plan.losers])).toEqual(proven);
      }),
    );
  });

  it('accounts for every identity once, and gives a linked new contact the match’s owner', () => {
    fc.assert(
      fc.property(worlds, captures, (world, identities) => {
        const plan = planIdentities(inputOf(world, identities));
        const fresh = identities.filter(({ key }) => !world.claims.has(key)).map(({ key }) => key);
        const placed = [...plan.attach, ...plan.skipped].map(({ key }) => key);
        expect([...placed].sort()).toEqual([...fresh].sort());
        for (const key of plan.verify) expect(world.claims.get(key)?.provenance).toBe('claimed');
        if (plan.kind === 'new_linked') {
          expect(plan.attach.length).toBeGreaterThan(0);
          expect(plan.duplicates[0]).toBe(plan.linkedTo);
          expect(plan.ownerId).toBe(world.contacts.get(plan.linkedTo)?.ownerId);
          expect(hasVerified(world, plan.linkedTo)).toBe(true);
        }
      }),
    );
  });

  it('is deterministic, whatever order the claims and contacts are read in', () => {
    fc.assert(
      fc.property(worlds, captures, fc.infiniteStream(fc.nat()), (world, identities, randomness) => {
        const input = inputOf(world, identities);
        const shuffle = <T>(values: readonly T[]) =>
          values
            .map((value) => ({ value, rank: randomness.next().value as number }))
            .sort((a, b) => a.rank - b.rank)
            .map(({ value }) => value);
        const again = planIdentities({
          identities: input.identities,
          claims: shuffle(input.claims),
          contacts: shuffle(input.contacts),
        });
        expect(again).toEqual(planIdentities(input));
      }),
    );
  });

  it('planned again after it is executed, lands on the same contact with nothing more to do', () => {
    fc.assert(
      fc.property(worlds, captures, (world, identities) => {
        const first = planIdentities(inputOf(world, identities));
        const target = landing(first, 'new-contact');
        apply(world, first, 'new-contact');
        const again = planIdentities(inputOf(world, identities));
        expect(again.kind).toBe('join');
        expect(landing(again, 'another')).toBe(target);
        expect(again).toMatchObject({ attach: [], verify: [], links: [] });
        expect(again.skipped).toEqual(first.skipped);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('planIdentities: the takeover from the issue', () => {
  const customer: KnownContact = {
    contactId: 'customer',
    createdAt: day(0),
    ownerId: 'm1',
    verifiedIdentities: ['phone:+821012345678'],
  };

  it('does not attach a form’s email to a customer whose phone called: a linked contact, same owner', () => {
    const plan = planIdentities({
      identities: [
        { key: 'email:mallory@example.com', provenance: 'claimed' },
        { key: 'phone:+821012345678', provenance: 'claimed' },
      ],
      claims: [{ key: 'phone:+821012345678', contactId: 'customer', provenance: 'verified' }],
      contacts: [customer],
    });
    expect(plan).toEqual({
      kind: 'new_linked',
      linkedTo: 'customer',
      duplicates: ['customer'],
      ownerId: 'm1',
      attach: [{ key: 'email:mallory@example.com', provenance: 'claimed' }],
      verify: [],
      skipped: [],
      links: [],
      matchedBy: { identity: 'phone:+821012345678', contactId: 'customer', provenance: 'claimed' },
    });
  });

  it('links, never merges, two customers whose identities one form carries', () => {
    const other: KnownContact = {
      contactId: 'other',
      createdAt: day(1),
      ownerId: 'm2',
      verifiedIdentities: ['email:bo@example.com'],
    };
    const plan = planIdentities({
      identities: [
        { key: 'email:bo@example.com', provenance: 'claimed' },
        { key: 'phone:+821012345678', provenance: 'claimed' },
      ],
      claims: [
        { key: 'email:bo@example.com', contactId: 'other', provenance: 'verified' },
        { key: 'phone:+821012345678', contactId: 'customer', provenance: 'verified' },
      ],
      contacts: [customer, other],
    });
    expect(plan).toMatchObject({
      kind: 'join',
      contactId: 'other',
      attach: [],
      links: [['other', 'customer']],
    });
  });

  it('merges when a Telegram user shares as their own a number that called before', () => {
    const telegram: KnownContact = {
      contactId: 'telegram',
      createdAt: day(2),
      ownerId: 'm2',
      verifiedIdentities: ['telegram:5123456789'],
    };
    const plan = planIdentities({
      identities: [
        { key: 'phone:+821012345678', provenance: 'verified' },
        { key: 'telegram:5123456789', provenance: 'verified' },
      ],
      claims: [
        { key: 'phone:+821012345678', contactId: 'customer', provenance: 'verified' },
        { key: 'telegram:5123456789', contactId: 'telegram', provenance: 'verified' },
      ],
      contacts: [telegram, customer],
    });
    expect(plan).toMatchObject({ kind: 'merge', contactId: 'customer', losers: ['telegram'] });
  });

  it('does not merge again two contacts an administrator separated', () => {
    const plan = planIdentities({
      identities: [
        { key: 'phone:+821012345678', provenance: 'verified' },
        { key: 'telegram:5123456789', provenance: 'verified' },
      ],
      claims: [
        { key: 'phone:+821012345678', contactId: 'customer', provenance: 'verified' },
        { key: 'telegram:5123456789', contactId: 'telegram', provenance: 'verified' },
      ],
      contacts: [
        { ...customer, separatedFrom: ['telegram'] },
        { contactId: 'telegram', createdAt: day(2), verifiedIdentities: ['telegram:5123456789'] },
      ],
    });
    expect(plan).toMatchObject({ kind: 'join', contactId: 'customer', links: [] });
  });
});

describe('vouchedIdentities', () => {
  const base: CaptureEvent = captureEventSchema.parse({
    version: 1,
    submissionId: 's1',
    channel: 'sms',
    sourceId: '+15550001111',
    teamId: 'sales',
    receivedAt: day(0),
    language: 'en',
    contact: { phone: '+821012345678' },
    consent: false,
    source: {},
  });

  it('takes a capture that says at its word, within its own identities', () => {
    const capture = { ...base, verified: ['phone:+821012345678', 'email:not-mine@example.com'] };
    expect(vouchedIdentities(capture)).toEqual(['phone:+821012345678']);
    expect(captureIdentities({ ...base, verified: [] })).toEqual([
      { key: 'phone:+821012345678', provenance: 'claimed' },
    ]);
  });

  it('reads a capture queued before provenance: platform ids and WhatsApp/Telegram phones, nothing typed', () => {
    // An SMS of old may have come from the generic webhook: its phone stays claimed.
    expect(vouchedIdentities(base)).toEqual([]);
    const whatsapp = {
      ...base,
      channel: 'whatsapp' as const,
      handles: { whatsapp: '+821012345678' },
    };
    expect(vouchedIdentities(whatsapp)).toEqual(['phone:+821012345678', 'whatsapp:+821012345678']);
    const chat = {
      ...base,
      channel: 'chat' as const,
      contact: { email: 'a@example.com', emailKey: 'a@example.com' },
      handles: { chat: 'v1' },
    };
    expect(vouchedIdentities(chat)).toEqual([]);
    const form = { ...base, channel: 'web_form' as const };
    expect(vouchedIdentities(form)).toEqual([]);
  });
});
