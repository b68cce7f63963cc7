/**
 * The `-ERR` texts Canopy sends, exactly as nats-server sends them so that
 * client libraries recognise them (they match on these strings).
 *
 * @module
 */
export const ERR = {
  authorizationViolation: "Authorization Violation",
  authenticationTimeout: "Authentication Timeout",
  unknownProtocolOperation: "Unknown Protocol Operation",
  staleConnection: "Stale Connection",
  maxConnectionsExceeded: "maximum connections exceeded",
  maxPayloadViolation: "Maximum Payload Violation",
  invalidSubject: "Invalid Subject",
  invalidPublishSubject: "Invalid Publish Subject",
  attemptedLeafPort: "attempted to connect to leaf node port",
  noRespondersRequiresHeaders: "no responders requires headers support",
} as const;
