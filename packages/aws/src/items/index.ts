/**
 * The single-table item module: key builders, the zod schemas reads are parsed with, and the writes and
 * queries of every entity. No other file under `packages/aws/src` spells a key, an update expression or a
 * condition (test/unit/architecture.test.ts holds it so).
 */
export * from './audit';
export * from './crm';
export * from './follow-ups';
export * from './links';
export * from './operations';
export * from './privacy';
export * from './schema';
export * from './segments';
export * from './stats';
export * from './timers';
export * from './webhooks';
