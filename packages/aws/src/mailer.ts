import { type SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { headerText, type RenderedEmail } from '@leadflow/core';

export interface Mailbox {
  readonly address: string;
  readonly name?: string | undefined;
}

export interface OutgoingEmail {
  readonly from: Mailbox;
  readonly to: Mailbox;
  readonly replyTo?: Mailbox | undefined;
  readonly content: RenderedEmail;
  /** SES message tags, for the configuration set's event destinations. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Further headers (List-Unsubscribe on subscription mail); ours, never user text. */
  readonly headers?: readonly { readonly name: string; readonly value: string }[] | undefined;
}

/**
 * Formats a mailbox for a header: the display name stripped of CR/LF (CWE-93) and, when it is
 * not plain ASCII, RFC 2047 encoded as SES requires.
 */
export function formatMailbox(mailbox: Mailbox): string {
  if (!mailbox.name) return mailbox.address;
  const name = headerText(mailbox.name, 80);
  if (name === '') return mailbox.address;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: printable ASCII is the test
  const display = /^[\x20-\x7E]*$/.test(name) ? `"${name.replace(/["\\]/g, '\\$&')}"` : encodedWords(name);
  return `${display} <${mailbox.address}>`;
}

/** RFC 2047 B-encoding, split into encoded words of at most 75 characters on character boundaries. */
function encodedWords(text: string): string {
  // `=?UTF-8?B?` + `?=` take 12 of the 75; 63 base64 characters carry 45 bytes (whole 3-byte groups).
  const maxBytes = 45;
  const words: string[] = [];
  let chunk = '';
  for (const char of text) {
    if (Buffer.byteLength(chunk + char, 'utf8') > maxBytes) {
      words.push(chunk);
      chunk = '';
    }
    chunk += char;
  }
  if (chunk) words.push(chunk);
  return words.map((word) => `=?UTF-8?B?${Buffer.from(word, 'utf8').toString('base64')}?=`).join(' ');
}

const TAG_VALUE = /[^A-Za-z0-9_-]/g;

/** Sends one email through SES v2 and returns SES's message id. */
export async function sendEmail(
  ses: SESv2Client,
  email: OutgoingEmail,
  options: { configurationSetName?: string | undefined } = {},
): Promise<string> {
  const result = await ses.send(
    new SendEmailCommand({
      FromEmailAddress: formatMailbox(email.from),
      Destination: { ToAddresses: [formatMailbox(email.to)] },
      ...(email.replyTo ? { ReplyToAddresses: [formatMailbox(email.replyTo)] } : {}),
      Content: {
        Simple: {
          Subject: { Data: email.content.subject, Charset: 'UTF-8' },
          // RFC 3834: machines (autoresponders, our own inbound mail) must never answer these.
          Headers: [
            { Name: 'Auto-Submitted', Value: 'auto-generated' },
            ...(email.headers ?? []).map(({ name, value }) => {
              // biome-ignore lint/suspicious/noControlCharactersInRegex: a header must stay one header (CWE-93)
              if (/[\r\n\u0000]/.test(value) || !/^[A-Za-z0-9-]+$/.test(name)) {
                throw new Error(`Refusing a malformed ${name} header`);
              }
              return { Name: name, Value: value };
            }),
          ],
          Body: {
            Text: { Data: email.content.text, Charset: 'UTF-8' },
            Html: { Data: email.content.html, Charset: 'UTF-8' },
          },
        },
      },
      EmailTags: Object.entries(email.tags ?? {}).map(([Name, Value]) => ({
        Name,
        Value: Value.replace(TAG_VALUE, '_'),
      })),
      ...(options.configurationSetName ? { ConfigurationSetName: options.configurationSetName } : {}),
    }),
  );
  if (!result.MessageId) throw new Error('SES accepted the email but returned no message id');
  return result.MessageId;
}
