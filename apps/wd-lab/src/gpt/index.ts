/**
 * The character-level GPT of `wd-lab gpt`, for other apps (the package entry, `@tsgrad/wd-lab`, exports it:
 * the playground's GPT view imports it): the model, its training step and schedule, the decay groupings, sampling and
 * the word data. Everything here runs in a browser; the Node-only word-list reader
 * (`english-words.ts`) is left out.
 */
export { GPT, nanoGptGroups, type GptConfig } from './model.js';
export { gptTrainer, type GptStep, type GptTraining } from './train.js';
export { nanoGptLr, type NanoGptSchedule } from './schedule.js';
export { GPT_GROUPINGS, groupingOptions, groupsOf, type GptGrouping } from './groupings.js';
export { normsOf, type GptNorms } from './norms.js';
export { drawIndex, sampleWords } from './sample.js';
export { ALPHABET, BOUNDARY, drawWords, encodeWords, windowBatch } from './words.js';
