import type { SessionEvent } from "../services/session-events";
import { SocketHub } from "./socket-hub";

/** One object per practice session: the live room both participants' sockets join. */
export class SessionRoom extends SocketHub {
  /** Pushes an event to every participant connected to the room. */
  broadcast(event: SessionEvent): number {
    return this.push(event);
  }
}
