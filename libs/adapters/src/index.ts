export * from './model-adapter';
export {
  assertEgressAllowed,
  createEgressLookup,
  EGRESS_REFUSED,
  EgressRefusedError,
  egressPolicyFromEnvironment,
  isLinkLocalOrMetadata,
  redactAdapterConfig,
  redactUrl,
  REDACTED,
} from './egress';
