import { randomUUID } from 'node:crypto';
import type { ScheduleDefinition } from '@leadflow/aws/resources';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { lambdaContext } from './lambda-context';
import { sleep, withTimeout } from './timing';

export type ScheduledHandler = (event: ScheduledEvent, context: Context) => Promise<unknown>;

export interface ScheduleSourceOptions {
  readonly definition: ScheduleDefinition;
  readonly handler: ScheduledHandler;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly onError?: (error: unknown) => void;
}

/**
 * A local EventBridge schedule: invokes the real handler with a `Scheduled Event` as the rule would, every
 * `everyMinutes` (and once at start when the definition asks), one invocation at a time, ended at the
 * function's timeout as Lambda ends it.
 */
export class ScheduleSource {
  readonly #options: ScheduleSourceOptions;
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(options: ScheduleSourceOptions) {
    this.#options = options;
  }

  start(): this {
    this.#loop = this.#run();
    return this;
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { definition } = this.#options;
    const signal = this.#abort.signal;
    if (!definition.runAtStart) await sleep(definition.everyMinutes * 60_000, signal);
    while (!signal.aborted) {
      await this.#invoke();
      await sleep(definition.everyMinutes * 60_000, signal);
    }
  }

  async #invoke(): Promise<void> {
    const { definition, handler, timeoutSeconds, memoryMb, onError } = this.#options;
    const event: ScheduledEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '000000000000',
      time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: 'us-east-1',
      resources: [`arn:aws:events:us-east-1:000000000000:rule/local-${definition.function}`],
      detail: {},
    };
    try {
      await withTimeout(
        handler(event, lambdaContext(definition.function, timeoutSeconds, memoryMb)),
        timeoutSeconds * 1000,
        `${definition.function} timed out after ${timeoutSeconds} s`,
      );
    } catch (error) {
      onError?.(error);
    }
  }
}
