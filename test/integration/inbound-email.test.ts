import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ObjectStore } from '@leadflow/aws';
import { rawMailBucket } from '@leadflow/aws/resources';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaContext } from '../../local/lambda-context';
import { loadEvent } from '../support/events';
import { eventually, startTestSystem, type TestSystem } from '../support/system';

// The inbound-email Lambda entry point, fed the real-shaped SES receipt events in events/ses/ after the
// raw message is put where the receipt rule's S3 action would put it, against the local emulators.
interface SesSample {
  Records: { ses: { mail: { messageId: string }; receipt: { spamVerdict: { status: string } } } }[];
}
type Handler = (event: unknown, context: Context) => Promise<void>;

let system: TestSystem;
let handler: Handler;
let s3: S3Client;
let rawMail: ObjectStore;

beforeAll(async () => {
  system = await startTestSystem();
  handler = (await import('../../functions/inbound-email/handler')).handler as unknown as Handler;
  s3 = new S3Client({
    endpoint: system.urls.sqs,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    forcePathStyle: true,
  });
  rawMail = new ObjectStore(s3, system.rawMailBucket, rawMailBucket.objectKeyPrefix);
});

afterAll(async () => {
  s3?.destroy();
  await system?.stop();
});

const context = () => lambdaContext('inboundEmail', 30, 512);

/** A sample message made unique for this run: its Message-ID and sender address carry `tag`. */
function uniqueEml(name: string, tag: string): { raw: Uint8Array; emailKey: string; messageId: string } {
  const text = readFileSync(fileURLToPath(new URL(`../../events/email/${name}`, import.meta.url)), 'latin1');
  const messageId = `${tag}@mail.gmail.com`;
  const replaced = text
    .replace(/^Message-ID: <[^>]+>/m, `Message-ID: <${messageId}>`)
    .replaceAll('jane.doe@example.org', `jane.${tag}@example.org`);
  return {
    raw: new Uint8Array(Buffer.from(replaced, 'latin1')),
    emailKey: `jane.${tag}@example.org`,
    messageId,
  };
}

/** The SES event for a fresh SES message id, whose raw MIME this test put into the local bucket. */
async function deliver(sample: string, raw: Uint8Array): Promise<SesSample> {
  const event = loadEvent<SesSample>(sample);
  const record = event.Records[0];
  if (!record) throw new Error('sample has no record');
  record.ses.mail.messageId = randomBytes(20).toString('hex');
  await rawMail.write(record.ses.mail.messageId, raw);
  return event;
}

async function capturesOf(emailKey: string) {
  const items = await system.items();
  const submissions = items.filter(
    (item) =>
      item.type === 'submission' &&
      (item.capture as { contact: { emailKey?: string } }).contact.emailKey === emailKey,
  );
  const identity = items.find((item) => item.pk === `IDENT#email:${emailKey}`);
  const interactions = identity
    ? items.filter((item) => item.pk === `CONTACT#${identity.contactId}` && String(item.sk).startsWith('TL#'))
    : [];
  return { submissions, identity, interactions };
}

describe('inbound-email handler with SES receipt rule events', () => {
  it('reads the raw message the receipt rule stored, then stores and queues one capture', async () => {
    const tag = `int${randomBytes(4).toString('hex')}`;
    const message = uniqueEml('english-reply-with-quote-and-signature.eml', tag);
    const event = await deliver('ses/receipt-lambda.json', message.raw);
    const key = `${rawMailBucket.objectKeyPrefix}${event.Records[0]?.ses.mail.messageId}`;
    // The object is where SES's S3 action puts it: <prefix><mail.messageId>.
    await expect(
      s3.send(new GetObjectCommand({ Bucket: system.rawMailBucket, Key: key })),
    ).resolves.toBeDefined();

    await expect(handler(event, context())).resolves.toBeUndefined();

    const { submissions } = await capturesOf(message.emailKey);
    expect(submissions).toHaveLength(1);
    expect(submissions[0]).toMatchObject({
      channel: 'email',
      sourceId: 'sales@example.com',
      capture: {
        channel: 'email',
        externalId: message.messageId,
        message: expect.stringMatching(/^Hi team,[\s\S]*0134\.$/),
        email: { messageId: message.messageId, subject: 'Re: Your quote for 20 seats' },
      },
    });
    // Queued: the running router turns it into a contact with its identity and one interaction.
    const routed = await eventually(async () => {
      const found = await capturesOf(message.emailKey);
      expect(found.interactions).toHaveLength(1);
      return found;
    });
    expect(routed.identity?.contactId).toEqual(expect.any(String));
    expect(routed.interactions[0]).toMatchObject({ type: 'interaction', channel: 'email' });
  });

  it('adds nothing when SES (or S3) delivers the same message again', async () => {
    const tag = `dup${randomBytes(4).toString('hex')}`;
    const message = uniqueEml('english-reply-with-quote-and-signature.eml', tag);
    const first = await deliver('ses/receipt-lambda.json', message.raw);
    await handler(first, context());
    // A Lambda retry of the same event, and a second SES delivery (a new SES id) of the same Message-ID.
    await handler(first, context());
    await handler(await deliver('ses/receipt-lambda.json', message.raw), context());

    await eventually(async () => expect((await capturesOf(message.emailKey)).interactions).toHaveLength(1));
    await eventually(async () => expect(await system.depth(system.queues.leads.url)).toBe(0));
    await new Promise((done) => setTimeout(done, 1000));
    const after = await capturesOf(message.emailKey);
    expect(after.submissions).toHaveLength(1);
    expect(after.interactions).toHaveLength(1);
  });

  it('drops a message SES judged spam without reading, storing or queueing it', async () => {
    const tag = `spam${randomBytes(4).toString('hex')}`;
    const message = uniqueEml('english-reply-with-quote-and-signature.eml', tag);
    const event = await deliver('ses/receipt-spam-fail.json', message.raw);
    expect(event.Records[0]?.ses.receipt.spamVerdict.status).toBe('FAIL');

    await expect(handler(event, context())).resolves.toBeUndefined();

    await new Promise((done) => setTimeout(done, 500));
    expect((await capturesOf(message.emailKey)).submissions).toHaveLength(0);
    expect(JSON.stringify(await system.items())).not.toContain(tag);
  });

  it('ignores an auto-reply and a bounce without storing anything', async () => {
    for (const name of ['auto-reply.eml', 'bounce.eml']) {
      const raw = readFileSync(fileURLToPath(new URL(`../../events/email/${name}`, import.meta.url)));
      await handler(await deliver('ses/receipt-lambda.json', new Uint8Array(raw)), context());
    }
    await new Promise((done) => setTimeout(done, 500));
    const items = JSON.stringify(await system.items());
    for (const sender of [
      'peter.ooo@example.net',
      'autoreply-7f3e2d1c',
      'mailer-daemon',
      '5C3E41@mx.example.net',
    ]) {
      expect(items.toLowerCase()).not.toContain(sender.toLowerCase());
    }
  });

  it('throws, for Lambda to retry, when the raw message is not in the bucket', async () => {
    const event = loadEvent<SesSample>('ses/receipt-lambda.json');
    const record = event.Records[0];
    if (!record) throw new Error('sample has no record');
    record.ses.mail.messageId = randomBytes(20).toString('hex');
    await expect(handler(event, context())).rejects.toThrow();
  });

  it('rejects an event that is not an SES receipt event', async () => {
    await expect(handler({ Records: [{ eventSource: 'aws:sqs' }] }, context())).rejects.toThrow();
    const event = loadEvent<SesSample>('ses/receipt-lambda.json');
    const record = event.Records[0];
    if (!record) throw new Error('sample has no record');
    // An id that would escape the prefix must never reach an S3 key.
    record.ses.mail.messageId = '../../etc/passwd';
    await expect(handler(event, context())).rejects.toThrow();
  });
});
