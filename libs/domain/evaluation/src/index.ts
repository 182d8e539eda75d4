export * from './triggers';
export * from './insertion';
export * from './canary';
export * from './metrics';
export * from './trigger-scan';
export { derivedRandom, hash32, hash64Hex, mulberry32, randomInt, sampleIndices } from './random';
export type { Random } from './random';
export * from './verdicts';
