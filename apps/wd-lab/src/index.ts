/**
 * What other apps use of wd-lab (the CLI is `cli.ts`): the character-level GPT of `wd-lab gpt`, which
 * the playground's "tiny GPT" view trains in the browser.
 */
export * from './gpt/index.js';
