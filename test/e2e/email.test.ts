import { randomUUID } from 'node:crypto';
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, MANAGER_EMAILS, person, startTestSystem, type TestSystem } from '../support/system';

// Mail delivered over SMTP to the running local system: the SMTP stand-in for SES receiving stores the
// raw message in the local bucket and invokes the inbound-email handler, and the router and notifier
// take it from there, exactly as for the other channels.
let system: TestSystem;
let smtp: Transporter;

beforeAll(async () => {
  system = await startTestSystem();
  const { hostname, port } = new URL(system.urls.smtp);
  smtp = nodemailer.createTransport({ host: hostname, port: Number(port), secure: false, ignoreTLS: true });
});

afterAll(async () => {
  smtp?.close();
  await system?.stop();
});

const MANAGERS = MANAGER_EMAILS;

function send(options: SendMailOptions) {
  return smtp.sendMail({ to: 'Leadflow Sales <sales@example.com>', ...options });
}

async function stateOf(emailKey: string) {
  const items = await system.items();
  const identity = items.find((item) => item.pk === `IDENT#email:${emailKey}`);
  const own = identity ? items.filter((item) => item.pk === `CONTACT#${identity.contactId}`) : [];
  return {
    identity,
    contact: own.find((item) => item.sk === 'PROFILE'),
    interactions: own.filter((item) => item.type === 'interaction'),
    submissions: items.filter(
      (item) =>
        item.type === 'submission' &&
        (item.capture as { contact: { emailKey?: string } }).contact.emailKey === emailKey,
    ),
  };
}

async function alertsAbout(name: string) {
  return (await system.emails()).filter(
    (email) =>
      email.subject.includes(name) &&
      email.destination.to.some((to) => MANAGERS.some((manager) => to.toLowerCase().includes(manager))),
  );
}

describe('inbound email over SMTP end to end', () => {
  it('turns a new sender’s email into a contact, an email interaction and a manager alert', async () => {
    const lead = person('mail');
    const info = await send({
      from: { name: lead.name, address: lead.email },
      subject: 'Quote for 20 seats',
      text: 'Hello, could you send me a quote for 20 seats?\n\n-- \nSent from my desk',
      messageId: `<${randomUUID()}@mail.example.org>`,
    });
    expect(info.rejected).toEqual([]);

    const state = await eventually(async () => {
      const found = await stateOf(lead.emailKey);
      expect(found.interactions).toHaveLength(1);
      return found;
    });
    expect(state.identity?.contactId).toBe(state.contact?.contactId);
    expect(state.interactions[0]).toMatchObject({ type: 'interaction', channel: 'email' });
    expect(state.submissions).toHaveLength(1);
    expect(state.submissions[0]?.capture).toMatchObject({
      channel: 'email',
      sourceId: 'sales@example.com',
      consent: false,
      contact: { name: lead.name, emailKey: lead.emailKey },
      message: 'Hello, could you send me a quote for 20 seats?',
      email: { subject: 'Quote for 20 seats' },
    });
    await eventually(async () => expect((await alertsAbout(lead.name)).length).toBeGreaterThanOrEqual(1));
  });

  it('adds nothing when the same Message-ID is delivered again', async () => {
    const lead = person('redeliver-mail');
    const message = {
      from: { name: lead.name, address: lead.email },
      subject: 'Demo request',
      text: 'Can we book a demo next week?',
      messageId: `<${randomUUID()}@mail.example.org>`,
    };
    await send(message);
    await eventually(async () => expect((await stateOf(lead.emailKey)).interactions).toHaveLength(1));
    const alerts = await eventually(async () => {
      const found = await alertsAbout(lead.name);
      expect(found.length).toBeGreaterThanOrEqual(1);
      return found;
    });

    await send(message);
    await eventually(async () => expect(await system.depth(system.queues.leads.url)).toBe(0));
    await eventually(async () => expect(await system.depth(system.queues.notifications.url)).toBe(0));
    await new Promise((done) => setTimeout(done, 1500));
    const after = await stateOf(lead.emailKey);
    expect(after.submissions).toHaveLength(1);
    expect(after.interactions).toHaveLength(1);
    expect(await alertsAbout(lead.name)).toHaveLength(alerts.length);
  });

  it('ignores an auto-reply: nothing stored, routed or alerted', async () => {
    const bot = person('ooo');
    const info = await send({
      from: { name: bot.name, address: bot.email },
      subject: 'Automatic reply: Quote for 20 seats',
      text: 'I am out of the office until Monday.',
      headers: { 'Auto-Submitted': 'auto-replied' },
    });
    // Accepted like any mail (a rejection would make the autoresponder retry or bounce back).
    expect(info.accepted).toHaveLength(1);
    await new Promise((done) => setTimeout(done, 1500));
    // No submission, identity, contact or interaction anywhere mentions the sender.
    expect(JSON.stringify(await system.items())).not.toContain(bot.emailKey);
    expect(await stateOf(bot.emailKey)).toMatchObject({ identity: undefined, submissions: [] });
    expect(await alertsAbout(bot.name)).toEqual([]);
  });

  it('joins a person who already submitted the demo form to the same contact', async () => {
    const lead = person('form-then-mail');
    const form = await system.post('/v1/forms/demo-contact', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: lead.name, email: lead.email, consent: true }),
    });
    expect(form.status).toBe(202);
    const before = await eventually(async () => {
      const found = await stateOf(lead.emailKey);
      expect(found.interactions).toHaveLength(1);
      return found;
    });

    // Written differently: upper case, and from a client that puts the person in Reply-To.
    await send({
      from: { name: 'Website relay', address: 'noreply@relay.example.net' },
      replyTo: { name: lead.name, address: lead.email.toUpperCase() },
      subject: 'Following up on my form',
      text: 'Any news on my request?',
    });
    const after = await eventually(async () => {
      const found = await stateOf(lead.emailKey);
      expect(found.interactions).toHaveLength(2);
      return found;
    });
    expect(after.identity?.contactId).toBe(before.identity?.contactId);
    expect(after.interactions.map((item) => item.channel).sort()).toEqual(['email', 'web_form']);
  });

  it('refuses recipients outside the configured domains, as an SES domain rule does', async () => {
    await expect(
      smtp.sendMail({
        from: 'someone@example.org',
        to: 'sales@not-ours.example',
        subject: 'hi',
        text: 'hi',
      }),
    ).rejects.toThrow(/550/);
  });
});
