import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { ObjectStore } from '@leadflow/aws';
import type { Context } from 'aws-lambda';
import PostalMime from 'postal-mime';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';

/** The SES receipt rule's inbound-email Lambda, as the local SMTP server invokes it. */
export type InboundEmailHandler = (event: LocalSesEvent, context: Context) => Promise<unknown>;

export interface LocalSmtpOptions {
  /** 0 picks a free port. */
  readonly port: number;
  readonly host?: string;
  /** Recipient domains accepted in RCPT TO (like an SES domain rule); empty accepts any recipient. */
  readonly acceptDomains: readonly string[];
  /** Largest message accepted, in bytes (10 MB by default; SES itself takes up to 40 MB). */
  readonly maxBytes?: number;
  /** Where each message is written first, as the receipt rule's S3 action does. */
  readonly rawMail: ObjectStore;
  readonly handler: InboundEmailHandler;
  readonly context: () => Context;
  readonly log?: (line: string) => void;
}

export interface LocalSmtp {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;

/**
 * A local stand-in for SES receiving: an SMTP server (no auth, no TLS, loopback only) that stores each
 * message's raw MIME under the receipt rule's key layout, then invokes the real inbound-email handler
 * with an SES-shaped event (verdicts PASS). A handler failure answers 451, so the client retries as
 * Lambda's async retries would.
 */
export async function startLocalSmtp(options: LocalSmtpOptions): Promise<LocalSmtp> {
  const host = options.host ?? '127.0.0.1';
  const accept = options.acceptDomains.map((domain) => domain.toLowerCase());
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const server = new SMTPServer({
    name: 'leadflow.local',
    banner: 'leadflow local inbound email (SES receiving stand-in)',
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    size: maxBytes,
    logger: false,
    onRcptTo(address, _session, callback) {
      const domain = address.address.split('@').at(-1)?.toLowerCase() ?? '';
      if (accept.length > 0 && !accept.includes(domain)) {
        return callback(
          smtpError(
            550,
            `5.1.1 <${address.address}>: this server accepts mail for ${accept.join(', ')} only`,
          ),
        );
      }
      callback();
    },
    onData(stream, session, callback) {
      receive(stream, session, options, maxBytes).then(
        () => callback(),
        (error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          if ((error as { responseCode?: number }).responseCode) return callback(error as Error);
          options.log?.(`[smtp] delivery failed: ${message}`);
          callback(smtpError(451, '4.3.0 The message was not processed; please retry'));
        },
      );
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://${host}:${port}`,
    port,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function receive(
  stream: SMTPServerDataStream,
  session: SMTPServerSession,
  options: LocalSmtpOptions,
  maxBytes: number,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  if (stream.sizeExceeded) throw smtpError(552, `5.3.4 The message is larger than ${maxBytes} bytes`);

  // SES message ids are 40 lowercase letters and digits.
  const sesMessageId = randomBytes(20).toString('hex');
  const envelopeFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
  const recipients = session.envelope.rcptTo.map((rcpt) => rcpt.address);
  const now = new Date();
  // Like SES, the stored object starts with the trace headers it adds on receipt.
  const trace = [
    `Return-Path: <${envelopeFrom}>`,
    `Received: from ${session.clientHostname} ([${session.remoteAddress}]) by leadflow.local with SMTP id ${sesMessageId} for ${recipients.join(', ')}; ${now.toUTCString()}`,
    'X-SES-Spam-Verdict: PASS',
    'X-SES-Virus-Verdict: PASS',
    '',
  ].join('\r\n');
  const raw = new Uint8Array(Buffer.concat([Buffer.from(trace, 'latin1'), ...chunks]));
  await options.rawMail.write(sesMessageId, raw);
  await options.handler(
    await sesEvent(raw, { sesMessageId, envelopeFrom, recipients, now }),
    options.context(),
  );
}

/** The parts of the SES receipt event the local server fills; the shape follows the AWS docs sample. */
export interface LocalSesEvent {
  readonly Records: readonly unknown[];
}

async function sesEvent(
  raw: Uint8Array,
  delivery: { sesMessageId: string; envelopeFrom: string; recipients: readonly string[]; now: Date },
): Promise<LocalSesEvent> {
  const email = await PostalMime.parse(raw);
  const header = (name: string) => email.headers.find((h) => h.key === name)?.value;
  const all = (name: string) => email.headers.filter((h) => h.key === name).map((h) => h.value);
  const pass = { status: 'PASS' };
  const timestamp = delivery.now.toISOString();
  return {
    Records: [
      {
        eventSource: 'aws:ses',
        eventVersion: '1.0',
        ses: {
          mail: {
            timestamp,
            source: delivery.envelopeFrom,
            messageId: delivery.sesMessageId,
            destination: [...delivery.recipients],
            headersTruncated: false,
            headers: email.headers.map((h) => ({ name: h.originalKey, value: h.value })),
            commonHeaders: {
              returnPath: delivery.envelopeFrom,
              from: all('from'),
              date: header('date') ?? delivery.now.toUTCString(),
              to: all('to'),
              messageId: header('message-id') ?? '',
              subject: email.subject ?? '',
            },
          },
          receipt: {
            timestamp,
            processingTimeMillis: 0,
            recipients: [...delivery.recipients],
            spamVerdict: pass,
            virusVerdict: pass,
            spfVerdict: pass,
            dkimVerdict: pass,
            dmarcVerdict: pass,
            action: {
              type: 'Lambda',
              functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:inboundEmail',
              invocationType: 'Event',
            },
          },
        },
      },
    ],
  };
}

function smtpError(responseCode: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode });
}
