import { SocketHub } from "./socket-hub";

/**
 * One object per CEFR level (`idFromName(level)`): it serialises matchmaking for that level
 * and pushes results to the users waiting on its WebSockets.
 */
export class Matchmaker extends SocketHub {
  /** Pushes a matchmaking event to one user's open sockets. */
  notify(userId: string, event: unknown): number {
    return this.push(event, userId);
  }
}
