import { randomUUID } from 'node:crypto';
import { twilioSignature } from '@leadflow/core';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, person, startTestSystem, type TestSystem } from '../support/system';

// The acceptance scenario across channels: a text, then a form, then an email, from one person. The form
// proves nothing about who typed the number (anyone could), so its email is not attached to the texter: it
// makes a contact of its own, linked as a possible duplicate and owned by the same manager, and the email
// from that address (DMARC passed) verifies it there. One owner hears of everything.
let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem();
});

afterAll(async () => {
  await system?.stop();
});

async function contactOf(identity: string) {
  const items = await system.items();
  const contactId = items.find((item) => item.pk === `IDENT#${identity}`)?.contactId as string | undefined;
  const own = items.filter((item) => item.pk === `CONTACT#${contactId}`);
  return {
    contactId,
    profile: own.find((item) => item.sk === 'PROFILE'),
    timeline: own.filter((item) => String(item.sk).startsWith('TL#') && item.channel !== 'system'),
    duplicates: own.filter((item) => item.event === 'possible_duplicate'),
    leads: own.filter((item) => item.type === 'lead'),
  };
}

describe('one customer across channels', () => {
  it('an SMS, then a form with that phone and an email, then an email from that address: two linked contacts, one owner', async () => {
    const p = person('omni');
    const token = system.env.TWILIO_AUTH_TOKEN ?? '';
    const url = `${system.urls.api}/v1/webhooks/twilio/sms`;
    const sms = {
      MessageSid: `SM${randomUUID().replace(/-/g, '')}`,
      AccountSid: 'ACfc4f300cc82fdf800702cac5813ac70b',
      From: p.e164,
      To: '+14155552671',
      Body: 'Do you have a showroom in Seoul?',
      NumMedia: '0',
    };
    const smsResponse = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilioSignature(token, url, sms),
      },
      body: new URLSearchParams(sms).toString(),
    });
    expect(smsResponse.status, await smsResponse.clone().text()).toBe(200);
    const afterSms = await eventually(async () => {
      const state = await contactOf(`phone:${p.e164}`);
      expect(state.timeline).toHaveLength(1);
      return state;
    });

    const form = await system.post('/v1/forms/demo-contact', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: p.name,
        phone: p.phoneKr,
        email: p.email,
        message: 'Please send a catalogue',
        consent: true,
      }),
    });
    expect(form.status).toBe(202);
    const byForm = await eventually(async () => {
      const state = await contactOf(`email:${p.emailKey}`);
      expect(state.timeline).toHaveLength(1);
      return state;
    });
    expect(byForm.contactId).not.toBe(afterSms.contactId);
    expect(byForm.profile).toMatchObject({
      duplicateOf: afterSms.contactId,
      ownerId: afterSms.profile?.ownerId,
    });
    const texter = await contactOf(`phone:${p.e164}`);
    expect(texter.timeline).toHaveLength(1);
    expect(texter.profile?.identities).toEqual(new Set([`phone:${p.e164}`]));
    expect(texter.duplicates.map((item) => item.possibleDuplicate)).toEqual([byForm.contactId]);

    const { hostname, port } = new URL(system.urls.smtp);
    const smtp = nodemailer.createTransport({
      host: hostname,
      port: Number(port),
      secure: false,
      ignoreTLS: true,
    });
    try {
      await smtp.sendMail({
        from: `"${p.name}" <${p.emailKey}>`,
        to: 'sales@example.com',
        subject: 'Catalogue received, one more question',
        text: 'Can I visit on Saturday?\n\n-- \nsent from my phone',
        messageId: `<omni-${p.emailKey}>`,
      });
    } finally {
      smtp.close();
    }

    const final = await eventually(async () => {
      const state = await contactOf(`email:${p.emailKey}`);
      expect(state.timeline).toHaveLength(2);
      return state;
    });
    // The mail lands on the form's contact, and its DMARC-passing sender now vouches for the address.
    expect(final.contactId).toBe(byForm.contactId);
    expect(final.profile?.verifiedIdentities).toEqual(new Set([`email:${p.emailKey}`]));
    const ordered = [...final.timeline].sort((a, b) => String(a.sk).localeCompare(String(b.sk)));
    expect(ordered.map((item) => item.channel)).toEqual(['web_form', 'email']);
    const texterAfter = await contactOf(`phone:${p.e164}`);
    expect(texterAfter.contactId).toBe(afterSms.contactId);
    expect(texterAfter.timeline.map((item) => item.channel)).toEqual(['sms']);
    const owners = new Set(
      [texterAfter, final].flatMap((state) => [
        state.profile?.ownerId,
        ...state.leads.map((lead) => lead.ownerId),
      ]),
    );
    expect(owners.size).toBe(1);

    // Every alert went to that one owner.
    const owner = [...owners][0] as string;
    await eventually(async () => {
      const alerts = (await system.emails()).filter(
        (email) => email.subject.includes(p.name) || email.subject.includes(p.e164),
      );
      const toManagers = alerts.filter(
        (email) =>
          /@example\.com>?$/.test(email.destination.to[0] ?? '') &&
          !email.destination.to[0]?.includes(p.emailKey),
      );
      expect(toManagers.length).toBeGreaterThanOrEqual(3);
      expect(
        new Set(toManagers.map((email) => email.destination.to[0]?.includes(`${owner}@example.com`))),
      ).toEqual(new Set([true]));
    });
  });
});
