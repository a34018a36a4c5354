export * from './accept';
