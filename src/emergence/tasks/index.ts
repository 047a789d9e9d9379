export * from './types.ts';
export * from './common.ts';
export * from './arithmetic.ts';
export * from './copying.ts';
export * from './quote.ts';
export * from './skills.ts';
export * from './multipleChoice.ts';
export * from './registry.ts';
