/**
 * INFO and CONNECT payloads of the leafnode protocol (spec 1.5 and 1.6), with
 * nats-server's field names.
 *
 * @module
 */
import type { InfoBase } from "./info.ts";
import type { SubjectFilterSpec } from "./subject_filter.ts";

/** INFO on the leafnode port; nats-server always says whether auth is required there. */
export interface LeafInfo extends InfoBase {
  auth_required: boolean;
  ip?: string;
  cluster?: string;
  import?: SubjectFilterSpec;
  export?: SubjectFilterSpec;
  info_on_connect?: boolean;
  connect_info?: boolean;
  leafnode_urls?: string[];
  remote_account?: string;
  compression?: string;
}

export interface LeafConnect {
  version?: string;
  jwt?: string;
  nkey?: string;
  sig?: string;
  user?: string;
  pass?: string;
  auth_token?: string;
  tls_required?: boolean;
  server_id?: string;
  name?: string;
  is_hub?: boolean;
  cluster?: string;
  headers?: boolean;
  deny_pub?: string[];
  remote_account?: string;
  compress_mode?: string;
  /** Present only when a NATS client (not a server) dialled the leafnode port. */
  lang?: string;
  account?: string;
  new_account?: string;
  gateway?: string;
}

/** Parses a JSON object from an INFO or CONNECT line; throws on anything else. */
export function parseJsonObject<T>(json: string): T {
  const value = JSON.parse(json);
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError("Cannot parse protocol JSON: not an object");
  }
  return value as T;
}

/** Subjects nats-server denies both ways on every leaf link unless JetStream is extended (spec 3.9). */
export const JETSTREAM_DENIES: readonly string[] = ["$JS.API.>", "$KV.>", "$OBJ.>"];

/** Interest that bypasses permission filters (spec 3.3 rule 6, 3.4 step 3). */
export function bypassesFilters(subject: string): boolean {
  return subject.startsWith("$LDS.") || subject.startsWith("$GR.") || subject.startsWith("_GR_.");
}

export function loopDetectedText(account: string): string {
  return `Loop detected for leafnode account="${account}". Delaying attempt to reconnect for 30s`;
}
