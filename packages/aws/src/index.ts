export * from './clients';
export * from './contacts';
export * from './env';
export * from './keys';
export * from './leads';
export * from './mailer';
export * from './queue';
export * from './submissions';
