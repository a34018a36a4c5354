import { LeadflowConfig } from '@leadflow/core';
import raw from './leadflow.json' with { type: 'json' };

/**
 * The deployed configuration: forms and teams, bundled into each function at build time and
 * validated once at init, so a bad config fails the deploy's first invocation loudly, not a lead.
 */
export const config = new LeadflowConfig(raw);
