import type { Config } from "../config";
import type { RateLimitRule } from "./rate-limit-rule";

const minute = 60;
const hour = 3600;

/**
 * Every rate limit of the API, by what it protects, with its numbers from the config (SPEC §10,
 * docs/security.md): one place to read them all, and what each handler enforces by name.
 * Sign-in's limits fail closed (guessing and mail-bombing are the risk); the others let a
 * request through when Redis cannot answer.
 */
export function rateLimitRules(rateLimits: Config["rateLimits"]) {
  return {
    /** Sign-in codes asked from one network (per requester network). */
    codeRequestsPerNetwork: {
      name: "code-requests-per-network",
      description: "sign-in codes asked from your network",
      limit: rateLimits.codeRequestsPerIpHour,
      windowSeconds: hour,
      failClosed: true,
    },
    /** Codes to one address from one network (per address and network). */
    codeRequestsPerAddressAndNetwork: {
      name: "code-requests-per-address-and-network",
      description: "sign-in codes to this address asked from your network",
      limit: rateLimits.codeRequestsPerEmailHour,
      windowSeconds: hour,
      failClosed: true,
    },
    /** Codes mailed to one address whoever asks, but not counted for its owner's own networks. */
    codeMailsPerAddress: {
      name: "code-mails-per-address",
      description: "sign-in codes mailed to this address",
      limit: rateLimits.codeMailsPerEmailHour,
      windowSeconds: hour,
      failClosed: true,
    },
    /** Code checks from one network: every check counts, since wrong guesses are what is limited. */
    codeChecksPerNetwork: {
      name: "code-checks-per-network",
      description: "sign-in code checks from your network",
      limit: rateLimits.codeChecksPerIp15Min,
      windowSeconds: 15 * minute,
      failClosed: true,
      countsEveryAttempt: true,
    },
    /** Match attempts (per user). */
    matchAttempts: {
      name: "match-attempt",
      description: "match attempts",
      limit: rateLimits.matchAttemptsPerMin,
      windowSeconds: minute,
      failClosed: false,
    },
    /** Messages sent (per user). */
    messages: {
      name: "messages",
      description: "messages you send",
      limit: rateLimits.messagesPerMin,
      windowSeconds: minute,
      failClosed: false,
    },
    /** Reports filed (per user). */
    reports: {
      name: "reports",
      description: "reports you file",
      limit: rateLimits.reportsPerHour,
      windowSeconds: hour,
      failClosed: false,
    },
    /** Presigned uploads, voice notes and avatars together (per user). */
    uploads: {
      name: "uploads",
      description: "uploads (voice notes and avatars)",
      limit: rateLimits.uploadsPerHour,
      windowSeconds: hour,
      failClosed: false,
    },
    /** Read positions recorded over HTTP (per user; the socket's `read` frames are coalesced instead). */
    reads: {
      name: "reads",
      description: "read positions you record",
      limit: rateLimits.readsPerMin,
      windowSeconds: minute,
      failClosed: false,
    },
    /** TURN credentials for calls (per user). */
    iceServers: {
      name: "ice-servers",
      description: "call credentials",
      limit: rateLimits.iceServersPerMin,
      windowSeconds: minute,
      failClosed: false,
    },
  } satisfies Record<string, RateLimitRule>;
}
