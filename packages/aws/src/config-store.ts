import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { LeadflowConfig, type LeadflowConfigInput, leadflowConfigSchema } from '@leadflow/core';
import { z } from 'zod';
import { configItem, keys } from './items';

/**
 * The part of the configuration that changes at runtime: the teams (managers and their availability),
 * the routing rules and the scoring, as written (the input form, defaults not filled in). Forms and
 * channels stay bundled: they are reviewed code, and the public ingest function reads them.
 */
export type RoutingSection = Pick<LeadflowConfigInput, 'teams' | 'routing' | 'scoring'>;

/** The configuration routing uses now, with the version it has in the table. */
export interface ConfigSnapshot {
  /** 0 while the table holds no configuration yet: the bundled one is in force. */
  readonly version: number;
  readonly config: LeadflowConfig;
  readonly section: RoutingSection;
  readonly updatedAt?: string | undefined;
  readonly updatedBy?: string | undefined;
  /** One line: what this version changed. */
  readonly change?: string | undefined;
}

/** Who changes the configuration and why, recorded with the version. */
export interface ConfigChangeMeta {
  readonly by: string;
  readonly change: string;
  readonly at: Date;
}

/** A change was made from a version that is no longer current: re-read and decide again. */
export class ConfigVersionConflictError extends Error {
  override readonly name = 'ConfigVersionConflictError';
  constructor(
    readonly expectedVersion: number,
    options?: ErrorOptions,
  ) {
    super(`The configuration is no longer at version ${expectedVersion}: another change came first`, options);
  }
}

/** The change would leave routing without a valid configuration; nothing was written. */
export class ConfigInvalidError extends Error {
  override readonly name = 'ConfigInvalidError';
  constructor(
    /** The validation issues, one per line, readable. */
    readonly issues: string,
    options?: ErrorOptions,
  ) {
    super(`Invalid configuration:\n${issues}`, options);
  }
}

/** The stored item is not what this code writes (hand-edited, or from a newer release). */
export class ConfigItemError extends Error {
  override readonly name = 'ConfigItemError';
}

/** The routing section of a configuration, as it was given (a copy: edit it freely). */
export function routingSectionOf(config: LeadflowConfig): RoutingSection {
  const { teams, routing, scoring } = config.raw;
  return structuredClone({
    teams,
    ...(routing === undefined ? {} : { routing }),
    ...(scoring === undefined ? {} : { scoring }),
  });
}

/**
 * The whole configuration a routing section makes with the bundled forms and channels, validated as
 * one: a team a form names cannot be removed, a rule cannot name a team that does not exist.
 */
export function combineConfig(bundled: LeadflowConfig, section: RoutingSection): LeadflowConfig {
  // Every key explicit: a section without rules has none, it does not inherit the bundled ones.
  const input = { ...bundled.raw, teams: section.teams, routing: section.routing, scoring: section.scoring };
  const parsed = leadflowConfigSchema.safeParse(input);
  if (!parsed.success) throw new ConfigInvalidError(z.prettifyError(parsed.error), { cause: parsed.error });
  return new LeadflowConfig(input);
}

const storedSectionSchema = z.object({
  teams: z.array(z.unknown()),
  routing: z.unknown().optional(),
  scoring: z.unknown().optional(),
});

const configItemSchema = z.object({
  version: z.number().int().positive(),
  /** The routing section, as JSON text. */
  config: z.string(),
  updatedAt: z.string().optional(),
  updatedBy: z.string().optional(),
  change: z.string().optional(),
});
export type ConfigItem = z.infer<typeof configItemSchema>;

/**
 * The items of one version: `CURRENT` and its history entry `V#…`, with the same attributes. The deploy's
 * custom resource writes the same items for version 1 (`updatedAt` is then absent: CloudFormation has no
 * clock to read).
 */
export function configItems(
  version: number,
  section: RoutingSection,
  meta: { by: string; change: string; at?: Date | undefined },
): { current: Record<string, unknown>; history: Record<string, unknown> } {
  const attributes = {
    type: 'config',
    version,
    config: JSON.stringify(section),
    ...(meta.at ? { updatedAt: meta.at.toISOString() } : {}),
    updatedBy: meta.by,
    change: meta.change,
  };
  return {
    current: { ...keys.config(), ...attributes },
    history: { ...keys.config(version), ...attributes },
  };
}

/** The condition under which the seed writes version 1: no configuration in the table yet. */
export const SEED_CONDITION = configItem.seedCondition;

/**
 * The runtime routing configuration in the table: `CONFIG#routing`/`CURRENT` with a version, and the
 * change history (`V#…`), each accepted change writing both in one transaction conditioned on the version
 * it was made from. Every change is validated whole, with the bundled forms and channels, before it is
 * written, so no accepted change leaves routing without a valid configuration.
 */
export class ConfigStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** The bundled configuration: its forms and channels always, its routing section until seeded. */
    private readonly bundled: LeadflowConfig,
  ) {}

  /**
   * Writes the bundled routing section as version 1 if the table has no configuration yet; true when it
   * did. Restarts and redeploys call it again and change nothing, so runtime changes survive them.
   */
  async seed(meta: ConfigChangeMeta): Promise<boolean> {
    const items = configItems(1, routingSectionOf(this.bundled), meta);
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: configItem
            .seed(items)
            .map((put) => ({ Put: { TableName: this.tableName, ...put } })),
        }),
      );
      return true;
    } catch (error) {
      if (isCancelledBy(error, 'ConditionalCheckFailed')) return false;
      throw error;
    }
  }

  /** The configuration in force: the table's current version, or the bundled one while there is none. */
  async get(): Promise<ConfigSnapshot> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: keys.config(), ConsistentRead: true }),
    );
    if (!Item) {
      return { version: 0, config: this.bundled, section: routingSectionOf(this.bundled), change: 'bundled' };
    }
    return this.snapshotOf(Item);
  }

  /** The most recent versions, newest first. */
  async history(limit = 20): Promise<ConfigItem[]> {
    const { Items } = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        ...configItem.versions(),
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (Items ?? []).map((item) => configItemSchema.parse(item));
  }

  /**
   * Writes `section` as the version after `expectedVersion`, with its history entry, if the table is still
   * at `expectedVersion` (0: nothing stored yet). Throws `ConfigInvalidError` before writing anything when
   * the result would not be a valid configuration, and `ConfigVersionConflictError` when another change
   * came first.
   */
  async put(
    section: RoutingSection,
    expectedVersion: number,
    meta: ConfigChangeMeta,
  ): Promise<ConfigSnapshot> {
    const config = combineConfig(this.bundled, section);
    const version = expectedVersion + 1;
    const items = configItems(version, section, meta);
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: this.tableName, ...configItem.current(items.current, expectedVersion) } },
            // A version is written once: a history entry is never overwritten.
            { Put: { TableName: this.tableName, ...configItem.history(items.history) } },
          ],
        }),
      );
    } catch (error) {
      if (isCancelledBy(error, 'ConditionalCheckFailed', 'TransactionConflict')) {
        throw new ConfigVersionConflictError(expectedVersion, { cause: error });
      }
      throw error;
    }
    return {
      version,
      config,
      section,
      updatedAt: meta.at.toISOString(),
      updatedBy: meta.by,
      change: meta.change,
    };
  }

  /**
   * Reads the current version, applies `change` to a copy of its routing section and writes the result;
   * on a version conflict, reads again and re-applies `change` to what the other writer left. `change`
   * may throw to refuse (an unknown manager): nothing is written then.
   */
  async update(
    change: (section: RoutingSection, current: ConfigSnapshot) => RoutingSection,
    meta: ConfigChangeMeta,
    attempts = 5,
  ): Promise<{ before: ConfigSnapshot; after: ConfigSnapshot }> {
    for (let attempt = 1; ; attempt++) {
      const before = await this.get();
      try {
        const after = await this.put(change(structuredClone(before.section), before), before.version, meta);
        return { before, after };
      } catch (error) {
        if (!(error instanceof ConfigVersionConflictError) || attempt >= attempts) throw error;
        // Concurrent writers spread out, so they do not all collide again.
        await new Promise((done) => setTimeout(done, Math.random() * 25 * attempt));
      }
    }
  }

  private snapshotOf(item: Record<string, unknown>): ConfigSnapshot {
    const parsed = configItemSchema.safeParse(item);
    if (!parsed.success) {
      throw new ConfigItemError(
        `The stored configuration item is malformed: ${z.prettifyError(parsed.error)}`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(parsed.data.config);
    } catch (error) {
      throw new ConfigItemError('The stored configuration is not JSON', { cause: error });
    }
    const section = storedSectionSchema.safeParse(json);
    if (!section.success) {
      throw new ConfigItemError(`The stored configuration has no teams: ${z.prettifyError(section.error)}`);
    }
    // Validated whole on every read too: a deploy may have changed the bundled forms since it was written.
    const value = section.data as RoutingSection;
    return {
      version: parsed.data.version,
      config: combineConfig(this.bundled, value),
      section: value,
      updatedAt: parsed.data.updatedAt,
      updatedBy: parsed.data.updatedBy,
      change: parsed.data.change,
    };
  }
}

/**
 * A transaction cancelled for one of these reasons: `ConditionalCheckFailed` (a condition lost a race) or
 * `TransactionConflict` (another transaction on the same item was in flight), not throttling or errors.
 */
export function isCancelledBy(error: unknown, ...codes: readonly string[]): boolean {
  return (
    error instanceof TransactionCanceledException &&
    (error.CancellationReasons ?? []).some((reason) => codes.includes(reason.Code ?? ''))
  );
}

export interface ConfigSourceOptions {
  /** Reads the configuration in force (usually `ConfigStore.get`). */
  readonly load: () => Promise<LeadflowConfig>;
  /** Served when no read has succeeded yet in this process (the bundled configuration). */
  readonly fallback: LeadflowConfig;
  /** How long a read is reused; 0 reads on every call. */
  readonly ttlSeconds: number;
  /** Milliseconds now; injected by tests. */
  readonly now?: () => number;
  /** Told when a read failed and what is served instead. */
  readonly onError?: (error: unknown, serving: 'last_good' | 'bundled') => void;
}

/**
 * The configuration for one invocation, read from the table at most once per `ttlSeconds` per process
 * (concurrent callers share one read), so a change takes effect within that time. A failed read never
 * stops routing: the last good configuration is served (the bundled one before any read succeeded) and
 * the read is tried again once the TTL has passed.
 */
export class ConfigSource {
  private cached: { config: LeadflowConfig; at: number } | undefined;
  private reading: Promise<LeadflowConfig> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: ConfigSourceOptions) {
    this.now = options.now ?? Date.now;
  }

  async current(): Promise<LeadflowConfig> {
    const now = this.now();
    if (this.cached && now - this.cached.at < this.options.ttlSeconds * 1000) return this.cached.config;
    if (!this.reading) {
      this.reading = this.read(now).finally(() => {
        this.reading = undefined;
      });
    }
    return this.reading;
  }

  private async read(now: number): Promise<LeadflowConfig> {
    try {
      const config = await this.options.load();
      this.cached = { config, at: now };
      return config;
    } catch (error) {
      this.options.onError?.(error, this.cached ? 'last_good' : 'bundled');
      const config = this.cached?.config ?? this.options.fallback;
      this.cached = { config, at: now };
      return config;
    }
  }
}

/** A `ConfigSource` over the table's configuration, with the bundled one as the fallback. */
export function tableConfigSource(options: {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly bundled: LeadflowConfig;
  readonly ttlSeconds: number;
  readonly onError?: ConfigSourceOptions['onError'];
}): ConfigSource {
  const store = new ConfigStore(options.doc, options.tableName, options.bundled);
  return new ConfigSource({
    load: async () => (await store.get()).config,
    fallback: options.bundled,
    ttlSeconds: options.ttlSeconds,
    ...(options.onError ? { onError: options.onError } : {}),
  });
}
