export * from './deps';
export * from './followup';
export * from './outcome';
export * from './sla';
export * from './task';
