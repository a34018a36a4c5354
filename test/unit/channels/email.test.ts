import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type CaptureEvent,
  captureEventSchema,
  captureInboundEmail,
  decodeIso2022Kr,
  type EmailChannelSource,
  type InboundEmailContext,
  LeadflowConfig,
  loopReason,
  MAX_EMAIL_MESSAGE_CHARS,
  parseInboundEmail,
  stripQuotedText,
} from '@leadflow/core';
import { naturalKey } from '@leadflow/door';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type SesEvent, type SesRecord, sesEventSchema } from '../../../functions/inbound-email/event';
import { type InboundEmailDeps, receiveEmail } from '../../../functions/inbound-email/receive';
import { loadEvent } from '../../support/events';
import { demoConfig, rawDemoConfig } from '../support';

/** A raw `.eml` sample from events/email, as the bytes SES stores. */
function eml(name: string): Uint8Array {
  return readFileSync(fileURLToPath(new URL(`../../../events/email/${name}`, import.meta.url)));
}

/** The same sample with some headers replaced or added (the first line of each name is replaced). */
function withHeaders(name: string, headers: Record<string, string | null>): string {
  let text = Buffer.from(eml(name)).toString('latin1');
  for (const [header, value] of Object.entries(headers)) {
    const line = new RegExp(`^${header}:.*\\r\\n`, 'im');
    const replacement = value === null ? '' : `${header}: ${value}\r\n`;
    text = line.test(text) ? text.replace(line, replacement) : `${replacement}${text}`;
  }
  return text;
}

const source = (): EmailChannelSource => {
  const email = demoConfig().channels.email;
  if (!email) throw new Error('the demo config has no email channel');
  return email;
};

const context = (overrides: Partial<InboundEmailContext> = {}): InboundEmailContext => ({
  source: source(),
  submissionId: '01JDEMO0000000000000000000',
  receivedAt: new Date('2026-11-24T14:02:12.000Z'),
  recipients: ['sales@example.com'],
  deliveryId: 'o3vrnil0e2ic28trm7dfhrc2v0cnbeccl4nbp0g1',
  ...overrides,
});

async function lead(raw: Uint8Array | string, overrides: Partial<InboundEmailContext> = {}) {
  const outcome = await captureInboundEmail(raw, context(overrides));
  if (outcome.kind !== 'lead') throw new Error(`expected a lead, got ${outcome.reason}`);
  // Every capture must pass the schema the queue and the router enforce.
  return captureEventSchema.parse(outcome.event);
}

describe('captureInboundEmail with real-shaped samples', () => {
  it('decodes a Korean EUC-KR message: base64 body, RFC 2047 name and subject, quote stripped', async () => {
    const event = await lead(eml('korean-euc-kr.eml'));
    expect(event).toMatchObject({
      version: 1,
      channel: 'email',
      sourceId: 'sales@example.com',
      teamId: 'sales',
      language: 'en',
      consent: false,
      urgent: false,
      answers: {},
      source: { utm: {} },
      contact: { name: '김민수', email: 'minsu.kim@example.co.kr', emailKey: 'minsu.kim@example.co.kr' },
      externalId: '20261121101501.4F2A19@mail.example.co.kr',
      conversationId: 'email:01000193a1b2c3d4-5e6f7a8b-0000@email.amazonses.com',
      email: {
        messageId: '20261121101501.4F2A19@mail.example.co.kr',
        subject: 'Re: 도입 견적 문의드립니다',
        attachments: [],
      },
    });
    expect(event.message).toBe(
      '안녕하세요,\n\n사무실 직원 50명 규모로 리드플로우 도입 견적을 받고 싶습니다.\n' +
        '다음 주 중에 통화 가능하실까요? 연락처는 010-2345-6789 입니다.\n\n감사합니다.\n김민수 드림',
    );
  });

  it('decodes a Thai TIS-620 quoted-printable message and drops the "sent from" line', async () => {
    const event = await lead(eml('thai-tis620.eml'));
    expect(event.contact).toEqual({
      name: 'สมชาย ใจดี',
      email: 'somchai.s@example.co.th',
      emailKey: 'somchai.s@example.co.th',
    });
    expect(event.email?.subject).toBe('ขอใบเสนอราคา');
    expect(event.message).toContain('สนใจระบบรับลูกค้าของคุณสำหรับร้านอาหาร 3 สาขา');
    expect(event.message).toMatch(/สมชาย$/);
    expect(event.message).not.toContain('iPhone');
    // No References: the message starts its own thread.
    expect(event.conversationId).toBe('email:CAK3vQp2Xz0example-th-0001@mail.example.co.th');
  });

  it('decodes ISO-2022-KR bodies and headers, which TextDecoder does not support', async () => {
    const event = await lead(eml('korean-iso-2022-kr.eml'));
    expect(event.contact.name).toBe('이지은');
    expect(event.email?.subject).toBe('견적 요청');
    expect(event.message).toBe('안녕하세요. 견적 부탁드립니다.\n이지은');
  });

  it('keeps only the new text of an English reply: no signature, attribution or quote', async () => {
    const event = await lead(eml('english-reply-with-quote-and-signature.eml'));
    expect(event.message).toBe(
      'Hi team,\n\nThanks — the price works for us. Can we start on December 1st?\n' +
        'Please call me at +1 415 555 0134.',
    );
    expect(event.contact).toEqual({
      name: 'Doe, Jane',
      email: 'jane.doe@example.org',
      emailKey: 'jane.doe@example.org',
    });
    // The thread is keyed by the root of References, so every reply in it shares one conversation.
    expect(event.conversationId).toBe('email:CAF3root0001@mail.example.com');
    expect(event.externalId).toBe('CAJ5xYz0reply-0001@mail.gmail.com');
  });

  it('takes the lead from Reply-To, lists attachments with decoded names, types and sizes', async () => {
    const event = await lead(eml('with-attachment.eml'));
    expect(event.contact).toEqual({
      name: 'Park Jisoo',
      email: 'Jisoo.Park@example.kr',
      emailKey: 'jisoo.park@example.kr',
    });
    expect(event.email).toEqual({
      messageId: 'rfp-2026-11-26-0042@partner.example',
      // The raw message's object key: what export and erasure reach it by.
      deliveryId: context().deliveryId,
      subject: '[Website] RFP attached – 견적 요청',
      attachments: [
        { filename: '견적요청서.pdf', contentType: 'application/pdf', size: 142 },
        { filename: 'logo.png', contentType: 'image/png', size: 70 },
      ],
    });
    expect(event.message).toContain('Please find our RFP attached.');
  });

  it('ignores an auto-reply (Auto-Submitted: auto-replied)', async () => {
    expect(await captureInboundEmail(eml('auto-reply.eml'), context())).toEqual({
      kind: 'ignored',
      reason: 'auto_submitted',
    });
  });

  it('ignores a bounce: a multipart/report from MAILER-DAEMON with a null return path', async () => {
    expect(await captureInboundEmail(eml('bounce.eml'), context())).toEqual({
      kind: 'ignored',
      reason: 'delivery_report',
    });
  });

  it('falls back to the delivery id when the message has no Message-ID', async () => {
    const event = await lead(withHeaders('thai-tis620.eml', { 'Message-ID': null }));
    expect(event.externalId).toBe(context().deliveryId);
    expect(event.email?.messageId).toBe(context().deliveryId);
    expect(event.conversationId).toBe(`email:${context().deliveryId}`);
  });

  it('uses the delivered mailbox as the source, lowercased', async () => {
    const event = await lead(eml('thai-tis620.eml'), {
      recipients: ['Other@Example.com', 'SALES@example.com'],
    });
    expect(event.sourceId).toBe('sales@example.com');
  });
});

describe('the team of the mailbox a message was delivered to', () => {
  /** The demo config with a Thai desk team and `recipients` in the order given. */
  const teamSource = (recipients: (string | { address: string; teamId: string })[]): EmailChannelSource => {
    const raw = rawDemoConfig();
    const [sales] = raw.teams;
    if (!sales || !raw.channels?.email) throw new Error('the demo config has no sales team or email channel');
    raw.teams.push({
      ...sales,
      id: 'thai-desk',
      name: 'Thai desk',
      managers: [{ id: 'pim', name: 'Pim', email: 'pim@example.com', language: 'th', active: true }],
    });
    raw.channels.email = { ...raw.channels.email, recipients };
    const email = new LeadflowConfig(raw).channels.email;
    if (!email) throw new Error('no email channel');
    return email;
  };
  const TH = { address: 'Sales-TH@example.com', teamId: 'thai-desk' };

  it.each([
    [
      'the recipient with a team, matched case-insensitively',
      ['SALES-TH@Example.com'],
      'sales-th@example.com',
      'thai-desk',
    ],
    ['a recipient without a team: the channel’s team', ['sales@example.com'], 'sales@example.com', 'sales'],
    [
      'another address at a configured domain: the channel’s team',
      ['info@example.com'],
      'info@example.com',
      'sales',
    ],
  ])('routes mail for %s', async (_what, recipients, sourceId, teamId) => {
    const event = await lead(eml('thai-tis620.eml'), {
      source: teamSource(['sales@example.com', TH]),
      recipients,
    });
    expect(event).toMatchObject({ sourceId, teamId });
  });

  it('takes the first configured recipient the message was delivered to, whatever the delivery order', async () => {
    for (const recipients of [
      ['sales@example.com', 'sales-th@example.com'],
      ['sales-th@example.com', 'sales@example.com'],
    ]) {
      const salesFirst = await lead(eml('thai-tis620.eml'), {
        source: teamSource(['sales@example.com', TH]),
        recipients,
      });
      expect(salesFirst).toMatchObject({ sourceId: 'sales@example.com', teamId: 'sales' });
      const thaiFirst = await lead(eml('thai-tis620.eml'), {
        source: teamSource([TH, 'sales@example.com']),
        recipients,
      });
      expect(thaiFirst).toMatchObject({ sourceId: 'sales-th@example.com', teamId: 'thai-desk' });
    }
  });

  it('is what the inbound-email handler stores and queues for an SES delivery', async () => {
    const [record] = loadEvent<SesEvent>('ses/receipt-lambda.json').Records;
    if (!record) throw new Error('sample has no record');
    record.ses.receipt.recipients = ['sales-th@example.com'];
    const queued: CaptureEvent[] = [];
    await receiveEmail(
      {
        source: teamSource(['sales@example.com', TH]),
        readRaw: async () => eml('english-reply-with-quote-and-signature.eml'),
        store: async (input) => ({ capture: input.capture, replay: false }),
        enqueue: async (capture) => {
          queued.push(capture);
        },
        newId: () => '01JTEST0000000000000000001',
      },
      sesEventSchema.parse({ Records: [record] }).Records[0] as SesRecord,
    );
    expect(queued.map(({ sourceId, teamId }) => ({ sourceId, teamId }))).toEqual([
      { sourceId: 'sales-th@example.com', teamId: 'thai-desk' },
    ]);
  });
});

describe('loop safety', () => {
  it.each([
    [{ 'Auto-Submitted': 'auto-generated' }, 'auto_submitted'],
    [{ 'Auto-Submitted': 'auto-notified; owner-email="a@b.c"' }, 'auto_submitted'],
    [{ Precedence: 'bulk' }, 'bulk_precedence'],
    [{ Precedence: 'junk' }, 'bulk_precedence'],
    [{ Precedence: 'List' }, 'bulk_precedence'],
    [{ 'X-Autoreply': 'yes' }, 'auto_reply_header'],
    [{ 'X-Autorespond': 'Out of office' }, 'auto_reply_header'],
    [{ 'Return-Path': '<>' }, 'null_sender'],
    [{ From: 'Mail Delivery System <MAILER-DAEMON@mx.example.net>' }, 'system_sender'],
    [{ From: 'postmaster@example.net' }, 'system_sender'],
    [{ Subject: 'Out of Office: Re: your quote' }, 'out_of_office'],
    [{ Subject: 'Automatic reply: your quote' }, 'out_of_office'],
    [{ Subject: '=?UTF-8?B?7J6Q64+ZIO2ajOyLoDog6rKs7KCB?=' }, 'out_of_office'],
    [{ From: 'Leadflow Sales <Sales@Example.com>' }, 'own_mailbox'],
  ] as const)('ignores %j as %s', async (headers, reason) => {
    expect(await captureInboundEmail(withHeaders('thai-tis620.eml', headers), context())).toEqual({
      kind: 'ignored',
      reason,
    });
  });

  it('accepts a person’s message that says Auto-Submitted: no', async () => {
    await expect(lead(withHeaders('thai-tis620.eml', { 'Auto-Submitted': 'no' }))).resolves.toBeDefined();
  });

  it('ignores a message whose Reply-To is one of our own mailboxes', async () => {
    expect(
      await captureInboundEmail(
        withHeaders('thai-tis620.eml', { 'Reply-To': 'sales@example.com' }),
        context(),
      ),
    ).toEqual({ kind: 'ignored', reason: 'own_mailbox' });
  });

  it('ignores a message without a usable sender address', async () => {
    expect(
      await captureInboundEmail(
        withHeaders('thai-tis620.eml', { From: 'undisclosed-recipients:;' }),
        context(),
      ),
    ).toEqual({ kind: 'ignored', reason: 'no_sender' });
  });

  it('reads the headers it decides on from the parsed message', async () => {
    const parsed = await parseInboundEmail(eml('bounce.eml'));
    expect(parsed.contentType).toBe('multipart/report');
    expect(parsed.headers.get('return-path')).toEqual(['<>']);
    expect(loopReason({ ...parsed, contentType: 'text/plain', headers: new Map() })).toBe('system_sender');
  });
});

describe('stripQuotedText', () => {
  it('cuts at a Gmail attribution wrapped over two lines', () => {
    expect(
      stripQuotedText(
        'Yes please.\n\nOn Mon, Nov 24, 2026 at 8:30 AM Sales <sales@example.com>\nwrote:\n> hi',
      ),
    ).toBe('Yes please.');
  });

  it('cuts at an Outlook header block and its underline', () => {
    const text = [
      'Works for me.',
      '',
      '________________________________',
      'From: Sales <sales@example.com>',
      'Sent: Monday, November 24, 2026 8:30 AM',
      'To: Jane <jane@example.org>',
      'Subject: Quote',
    ].join('\n');
    expect(stripQuotedText(text)).toBe('Works for me.');
    expect(stripQuotedText(text.replace('_'.repeat(32), ''))).toBe('Works for me.');
  });

  it.each([
    ['-----Original Message-----'],
    ['---------- Forwarded message ---------'],
    ['Begin forwarded message:'],
    ['-- '],
    ['--'],
    ['Sent from my iPhone'],
    ['Get Outlook for Android'],
    ['나의 iPhone에서 보냄'],
    ['ส่งจาก iPhone ของฉัน'],
    ['2026년 11월 20일 (목) 오전 10:12, 영업팀 <sales@example.com>님이 작성:'],
    ['เมื่อ วันจันทร์ที่ 24 พ.ย. 2026 Sales <sales@example.com> เขียนว่า:'],
    ['Le lun. 24 nov. 2026 à 08:30, Sales <sales@example.com> a écrit :'],
  ])('cuts at %j', (marker) => {
    expect(stripQuotedText(`Call me tomorrow.\n${marker}\nquoted or signed text`)).toBe('Call me tomorrow.');
  });

  it('drops inline quoted lines but keeps the answers between them', () => {
    expect(stripQuotedText('> How many seats?\n20 seats.\n> When?\nIn December.')).toBe(
      '20 seats.\nIn December.',
    );
  });

  it('keeps ordinary lines that only look similar', () => {
    const text = 'On Monday we can meet.\nFrom: our side, nothing more.\nThe 작성 form is attached.';
    expect(stripQuotedText(text)).toBe(text);
  });

  it('never grows the text and never keeps a quoted line (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), fc.constant('> quoted'), fc.constant('-- '))), (lines) => {
        const out = stripQuotedText(lines.join('\n'));
        expect(out.length).toBeLessThanOrEqual(lines.join('\n').length);
        expect(out.split('\n').some((line) => line.trim().startsWith('>'))).toBe(false);
      }),
    );
  });
});

describe('body selection and bounds', () => {
  const simple = (contentType: string, body: string, extra = '') =>
    [
      'From: Somchai <somchai@example.co.th>',
      'To: sales@example.com',
      'Subject: Hello',
      'Message-ID: <m1@example.co.th>',
      'MIME-Version: 1.0',
      extra,
      `Content-Type: ${contentType}`,
      '',
      body,
    ]
      .filter((line, index) => line !== '' || index > 5)
      .join('\r\n');

  it('converts the HTML part to text when there is no text part', async () => {
    const event = await lead(
      simple(
        'text/html; charset=utf-8',
        '<html><body><p>Please call me</p><p>at <b>081-234-5678</b> &amp; thanks</p></body></html>',
      ),
    );
    expect(event.message).toMatch(/Please call me\s+at 081-234-5678 & thanks/);
    expect(event.message).not.toContain('<');
  });

  it('strips the Gmail quote of an HTML-only reply', async () => {
    const text = Buffer.from(eml('english-reply-with-quote-and-signature.eml')).toString('latin1');
    const boundary = '--000000000000a1b2c3d4e5f60718\r\n';
    const first = text.indexOf(boundary);
    const htmlOnly = text.slice(0, first) + text.slice(text.indexOf(boundary, first + 1));
    const event = await lead(htmlOnly);
    expect(event.message).toBe(
      'Hi team,\n\nThanks — the price works for us. Can we start on December 1st?\n' +
        'Please call me at +1 415 555 0134.',
    );
  });

  it('drops head, style and script content and decodes entities', async () => {
    const event = await lead(
      simple(
        'text/html; charset=utf-8',
        '<html><head><title>t</title><style>p{color:red}</style></head><body><script>x()</script>' +
          '<ul><li>20 seats</li><li>&#xAC00;&#44032; &lt;ok&gt;</li></ul></body></html>',
      ),
    );
    expect(event.message).toBe('- 20 seats\n- 가가 <ok>');
  });

  it('prefers the text part over the HTML part', async () => {
    const raw = await lead(eml('english-reply-with-quote-and-signature.eml'));
    expect(raw.message).not.toContain('<div');
  });

  it(`bounds the message to ${MAX_EMAIL_MESSAGE_CHARS} characters`, async () => {
    const event = await lead(simple('text/plain; charset=utf-8', '가'.repeat(30_000)));
    expect(event.message?.length).toBe(MAX_EMAIL_MESSAGE_CHARS);
    expect(event.message?.endsWith('…')).toBe(true);
  });

  it('keeps a message that is only a forward rather than losing it', async () => {
    const event = await lead(
      simple('text/plain; charset=utf-8', '---------- Forwarded message ---------\nPlease quote 20 seats.'),
    );
    expect(event.message).toContain('Please quote 20 seats.');
  });

  it('strips control characters and CR/LF from header values that reach the capture', async () => {
    const event = await lead(
      simple('text/plain', 'hi').replace('Subject: Hello', 'Subject: =?UTF-8?B?SGVsbG8NCkJjYzogeEB5Lno=?='),
    );
    expect(event.email?.subject).toBe('Hello Bcc: x@y.z');
  });

  it('stays linear on hostile bodies: unclosed tags and comments, long runs of spaces', async () => {
    const started = performance.now();
    await lead(
      simple('text/html; charset=utf-8', `<p>hello</p>${'<a '.repeat(60_000)}${'<!--'.repeat(60_000)}`),
    );
    await lead(
      simple('text/plain; charset=utf-8', `hello\n${' '.repeat(300_000)}x\n${'\t'.repeat(100_000)}`),
    );
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('decodes ISO-2022-KR and leaves other text alone', () => {
    expect(decodeIso2022Kr('\x1b$)C\x0e0!\x0f A')).toBe('가 A');
    expect(decodeIso2022Kr('plain \x0e text')).toBe('plain \x0e text');
    expect(decodeIso2022Kr('한국어')).toBe('한국어');
  });
});

describe('receiveEmail (the inbound-email handler’s domain step, with in-memory fakes)', () => {
  type Stored = Parameters<InboundEmailDeps['store']>[0];
  const record = (spam = 'PASS', virus = 'PASS'): SesRecord => {
    const [first] = loadEvent<SesEvent>('ses/receipt-lambda.json').Records;
    if (!first) throw new Error('sample has no record');
    first.ses.receipt.spamVerdict.status = spam;
    first.ses.receipt.virusVerdict.status = virus;
    return sesEventSchema.parse({ Records: [first] }).Records[0] as SesRecord;
  };

  function fakes(overrides: Partial<InboundEmailDeps> = {}) {
    const calls: string[] = [];
    const table = new Map<string, Stored>();
    const deps: InboundEmailDeps = {
      source: source(),
      readRaw: async (id) => {
        calls.push(`read ${id}`);
        return eml('english-reply-with-quote-and-signature.eml');
      },
      store: async (input) => {
        calls.push('store');
        const previous = table.get(input.idempotencyHash);
        if (previous) return { capture: previous.capture, replay: true };
        table.set(input.idempotencyHash, input);
        return { capture: input.capture, replay: false };
      },
      enqueue: async (capture) => {
        calls.push(`enqueue ${capture.submissionId}`);
      },
      newId: (() => {
        let n = 0;
        return () => `01JTEST${String(++n).padStart(19, '0')}`;
      })(),
      ...overrides,
    };
    return { deps, calls, table };
  }

  it('reads the raw MIME by SES message id, stores, then queues, keyed by sender and Message-ID', async () => {
    const { deps, calls, table } = fakes();
    const outcome = await receiveEmail(deps, record());
    expect(outcome).toMatchObject({ outcome: 'accepted', sesMessageId: record().ses.mail.messageId });
    expect(calls).toEqual([
      `read ${record().ses.mail.messageId}`,
      'store',
      expect.stringMatching(/^enqueue /),
    ]);
    const stored = [...table.values()][0];
    expect(stored?.idempotencyHash).toBe(
      naturalKey('email', `${stored?.capture.contact.emailKey}\nCAJ5xYz0reply-0001@mail.gmail.com`)
        .idempotencyHash,
    );
    expect(stored?.capture.contact.emailKey).toBeTruthy();
  });

  it('re-queues the first capture on a redelivery, and stores nothing new', async () => {
    const { deps, calls, table } = fakes();
    const first = await receiveEmail(deps, record());
    const again = await receiveEmail(deps, record());
    expect(again).toMatchObject({ outcome: 'replay' });
    expect(first.outcome === 'accepted' && again.outcome === 'replay' && again.submissionId).toBe(
      first.outcome === 'accepted' && first.submissionId,
    );
    expect(table.size).toBe(1);
    expect(calls.filter((call) => call.startsWith('enqueue'))).toHaveLength(2);
  });

  it.each([
    ['spam', 'FAIL', 'PASS'],
    ['virus', 'PASS', 'FAIL'],
  ])('drops a %s FAIL verdict without reading the message', async (outcome, spam, virus) => {
    const { deps, calls } = fakes();
    expect(await receiveEmail(deps, record(spam, virus))).toMatchObject({ outcome, verdict: 'FAIL' });
    expect(calls).toEqual([]);
  });

  it('keeps a GRAY spam verdict: only FAIL is dropped', async () => {
    const { deps } = fakes();
    expect(await receiveEmail(deps, record('GRAY'))).toMatchObject({ outcome: 'accepted' });
  });

  it('queues nothing when storing fails, and lets the error reach Lambda for a retry', async () => {
    const { deps, calls } = fakes({
      store: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
    });
    await expect(receiveEmail(deps, record())).rejects.toThrow('ProvisionedThroughputExceededException');
    expect(calls.some((call) => call.startsWith('enqueue'))).toBe(false);
  });

  it('throws when the email channel is not configured, so the event is retried, not lost', async () => {
    const { deps } = fakes({ source: undefined });
    await expect(receiveEmail(deps, record())).rejects.toThrow(/channels\.email/);
  });
});
