import { z } from 'zod';

const verdict = z.object({ status: z.string() });

/**
 * The SES receipt rule's Lambda action event (one record per message). It carries headers and the
 * spam, virus, SPF, DKIM and DMARC verdicts, but no body: the rule's S3 action stored the raw MIME
 * under `<prefix><mail.messageId>` before invoking us.
 */
export const sesEventSchema = z.object({
  Records: z
    .array(
      z.object({
        eventSource: z.literal('aws:ses'),
        eventVersion: z.string(),
        ses: z.object({
          mail: z.object({
            timestamp: z.string(),
            source: z.string(),
            // SES ids are letters, digits and dashes; anything else must never reach an S3 key.
            messageId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/),
            destination: z.array(z.string()),
          }),
          receipt: z.object({
            timestamp: z.string(),
            recipients: z.array(z.string()).min(1),
            spamVerdict: verdict,
            virusVerdict: verdict,
            spfVerdict: verdict,
            dkimVerdict: verdict,
            dmarcVerdict: verdict,
          }),
        }),
      }),
    )
    .min(1),
});
export type SesEvent = z.infer<typeof sesEventSchema>;
export type SesRecord = SesEvent['Records'][number];
