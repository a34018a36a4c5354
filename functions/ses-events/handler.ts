import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { createDocumentClient, readEnv, recordSesEvent, type SesRecipientOutcome } from '@leadflow/aws';
import { sesEventSchema } from '@leadflow/core';
import middy from '@middy/core';
import { z } from 'zod';

const logger = new Logger({ serviceName: 'sesEvents' });
const metrics = new Metrics({ serviceName: 'sesEvents' });
const settings = readEnv(['tableName']);
const deps = { doc: createDocumentClient(), tableName: settings.tableName, clock: () => new Date() };

/** The SNS event Lambda is invoked with: each record's message is one SES event, as JSON text. */
const snsEventSchema = z.object({
  Records: z
    .array(
      z.looseObject({
        EventSource: z.literal('aws:sns'),
        Sns: z.looseObject({ MessageId: z.string(), Message: z.string() }),
      }),
    )
    .min(1),
});

/**
 * Subscribed to the topic the SES configuration set publishes bounces and complaints to (an asynchronous
 * invocation): a throw makes Lambda retry, then send the event to the function's dead-letter queue.
 */
export const handler = middy(async (event: unknown): Promise<{ outcomes: SesRecipientOutcome[] }> => {
  const { Records } = snsEventSchema.parse(event);
  const outcomes: SesRecipientOutcome[] = [];
  for (const record of Records) {
    const sesEvent = sesEventSchema.parse(JSON.parse(record.Sns.Message));
    const recorded = await recordSesEvent(deps, sesEvent);
    for (const outcome of recorded) {
      metrics.addMetric(`Ses_${outcome.event}`, MetricUnit.Count, 1);
      // Ids and outcomes only: the address is personal data.
      logger.info('SES event recorded', {
        snsMessageId: record.Sns.MessageId,
        sesMessageId: sesEvent.mail.messageId,
        ...outcome,
      });
    }
    outcomes.push(...recorded);
  }
  return { outcomes };
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
