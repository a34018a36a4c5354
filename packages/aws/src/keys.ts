/** The key builders and item schemas live in the item module; this path stays for existing imports. */
export * from './items';
