import { env } from '@leadflow/aws/resources';
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { contextSchema } from '../../infra/context';
import type { LeadflowFunction } from '../../infra/leadflow-function';
import type { LeadflowStack } from '../../infra/stack';
import { BUILD_TIMEOUT_MS, build, logicalId, testContext } from './support';

// Raw provider payloads (stored submissions) are kept for a configurable number of days: the CDK context
// value reaches the two functions that store them, and no other.
let stack: LeadflowStack;
let template: Template;

beforeAll(() => {
  ({ stack, template } = build({ bundle: false, context: { rawPayloadRetentionDays: '7' } }));
}, BUILD_TIMEOUT_MS);

function variablesOf(fn: LeadflowFunction): Record<string, unknown> {
  const resource = template.toJSON().Resources[logicalId(fn.function)] as {
    Properties: { Environment?: { Variables?: Record<string, unknown> } };
  };
  return resource.Properties.Environment?.Variables ?? {};
}

describe('raw payload retention', () => {
  it('defaults to 30 days and takes -c strings', () => {
    expect(contextSchema.parse(testContext).rawPayloadRetentionDays).toBe(30);
    expect(
      contextSchema.parse({ ...testContext, rawPayloadRetentionDays: '90' }).rawPayloadRetentionDays,
    ).toBe(90);
    for (const bad of ['0', '', 'month', 1.5, 4000]) {
      expect(contextSchema.safeParse({ ...testContext, rawPayloadRetentionDays: bad }).success).toBe(false);
    }
  });

  it('reaches the functions that store submissions, and only them', () => {
    const { byKey } = stack.functions;
    expect(variablesOf(byKey.ingest)[env.rawPayloadRetentionDays]).toBe('7');
    expect(variablesOf(byKey.inboundEmail)[env.rawPayloadRetentionDays]).toBe('7');
    for (const key of ['router', 'notifier', 'outbox', 'dispatcher'] as const) {
      expect(variablesOf(byKey[key])[env.rawPayloadRetentionDays]).toBeUndefined();
    }
  });
});
