import { api, ok } from "./api";

/**
 * `elsewhere`: a call of this session goes on (or rings out) on another device of yours, or your
 * partner's call was answered on one.
 */
export type CallPhase = "idle" | "incoming" | "calling" | "connecting" | "connected" | "elsewhere" | "ended";

export interface CallState {
  phase: CallPhase;
  callId: string | null;
  muted: boolean;
  /** When the room saw both devices connected (epoch ms), for the timer. */
  connectedAt: number | null;
  /** RTCPeerConnection's own view: new, connecting, connected, disconnected, failed, closed. */
  connection: RTCPeerConnectionState | null;
  endedReason: string | null;
}

/** Where frames go: the session room's socket. */
export interface Signal {
  send(frame: Record<string, unknown>): boolean;
}

/** The call as the room tells this socket (`room.call` and `call.state`). */
interface RoomCall {
  call_id: string;
  state: "ringing" | "answered" | "connected";
  started_by: string;
  connected_at: string | null;
  here: boolean;
}

const isRoomCall = (value: unknown): value is RoomCall =>
  typeof value === "object" && value !== null && "call_id" in value && "state" in value && "here" in value;

/**
 * One learner's side of the session's voice call: WebRTC with the "perfect negotiation" pattern,
 * signalled through the room, which relays each frame to the other device of the call and tells
 * every device how the call stands. The room decides which call is the call — when both press
 * Call at once the polite side's yields — and this device follows what it says.
 *
 * Developers can force relaying through TURN with `localStorage["gaplash.iceTransportPolicy"] = "relay"`.
 */
export class Call {
  private pc: RTCPeerConnection | null = null;
  private microphone: MediaStream | null = null;
  private readonly remoteAudio = new Audio();
  private makingOffer = false;
  private ignoreOffer = false;
  /** The partner's call ringing here, with its offer. */
  private ringing: { callId: string; sdp: string } | null = null;
  /** Candidates that came before the offer was accepted, applied right after it is. */
  private pendingCandidates: RTCIceCandidateInit[] = [];
  private announcedConnected = false;
  /** Bumped whenever this device lets go of a call, so a setup still awaiting (the microphone prompt) is dropped. */
  private generation = 0;
  /** Whether the room has told us about our call, so a room without it means it ended meanwhile. */
  private acknowledged = false;
  /** The call this device hung up or declined, until the room confirms it ended: one lost on the way is sent again. */
  private hungUp: string | null = null;
  private you: string | null = null;
  private polite = true;
  state: CallState = {
    phase: "idle",
    callId: null,
    muted: false,
    connectedAt: null,
    connection: null,
    endedReason: null,
  };

  constructor(
    private readonly sessionId: string,
    private readonly signal: Signal,
    private readonly onChange: (state: CallState) => void,
  ) {
    this.remoteAudio.autoplay = true;
  }

  private update(patch: Partial<CallState>): void {
    this.state = { ...this.state, ...patch };
    this.onChange(this.state);
  }

  private get inCall(): boolean {
    return ["calling", "connecting", "connected"].includes(this.state.phase);
  }

  /** Opens the peer connection for `callId`, or returns null if this device let go of the call meanwhile. */
  private async open(callId: string): Promise<RTCPeerConnection | null> {
    if (this.pc || this.microphone) this.letGo();
    const generation = this.generation;
    const servers = await ok(await api.sessions[":id"].call["ice-servers"].$post({ param: { id: this.sessionId } }));
    if (generation !== this.generation) return null;
    const microphone = await navigator.mediaDevices.getUserMedia({ audio: true });
    if (generation !== this.generation) {
      // Hung up while the browser asked for the microphone: give it back at once.
      for (const track of microphone.getTracks()) track.stop();
      return null;
    }
    const policy = localStorage.getItem("gaplash.iceTransportPolicy") === "relay" ? "relay" : "all";
    const pc = new RTCPeerConnection({ iceServers: servers.ice_servers, iceTransportPolicy: policy });
    this.pc = pc;
    this.microphone = microphone;
    this.announcedConnected = false;
    for (const track of microphone.getTracks()) pc.addTrack(track, microphone);
    pc.ontrack = (event) => {
      this.remoteAudio.srcObject = event.streams[0] ?? new MediaStream([event.track]);
    };
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) this.signal.send({ type: "call.ice", call_id: callId, candidate: candidate.toJSON() });
    };
    pc.onnegotiationneeded = async () => {
      try {
        this.makingOffer = true;
        await pc.setLocalDescription();
        this.signal.send({ type: "call.offer", call_id: callId, sdp: pc.localDescription?.sdp ?? "" });
      } catch (error) {
        if (this.pc === pc) throw error; // Otherwise this device let go of the call meanwhile.
      } finally {
        this.makingOffer = false;
      }
    };
    pc.onconnectionstatechange = () => {
      if (this.pc !== pc) return;
      this.update({ connection: pc.connectionState });
      if (pc.connectionState === "connected" && !this.announcedConnected) {
        this.announcedConnected = true;
        this.signal.send({ type: "call.connected", call_id: callId });
      }
      if (pc.connectionState === "failed") pc.restartIce();
    };
    return pc;
  }

  /** Calls the partner. */
  async start(): Promise<void> {
    if (this.state.phase !== "idle" && this.state.phase !== "ended") return;
    const callId = crypto.randomUUID();
    this.pendingCandidates = [];
    this.acknowledged = false;
    this.update({ phase: "calling", callId, connectedAt: null, endedReason: null, muted: false });
    try {
      await this.open(callId);
    } catch (error) {
      // No microphone, or no ICE servers: nothing was sent, and the screen says why.
      if (this.state.callId === callId) this.close("failed");
      throw error;
    }
  }

  /** Answers the call ringing here. */
  async answer(): Promise<void> {
    const offer = this.ringing;
    if (!offer) return;
    this.ringing = null;
    this.acknowledged = true;
    this.update({ phase: "connecting", callId: offer.callId, connectedAt: null, endedReason: null, muted: false });
    try {
      const pc = await this.open(offer.callId);
      if (pc) await this.accept(pc, offer.callId, offer.sdp);
    } catch (error) {
      // It rings on elsewhere, or rings out; this device is not in it.
      if (this.state.callId === offer.callId) this.close("failed");
      throw error;
    }
  }

  private async accept(pc: RTCPeerConnection, callId: string, sdp: string): Promise<void> {
    await pc.setRemoteDescription({ type: "offer", sdp });
    for (const candidate of this.pendingCandidates.splice(0)) await pc.addIceCandidate(candidate);
    await pc.setLocalDescription();
    this.signal.send({ type: "call.answer", call_id: callId, sdp: pc.localDescription?.sdp ?? "" });
  }

  /** Ends the call this device is in, or declines the one ringing here; a call on another device goes on. */
  hangUp(): void {
    if (this.state.phase === "incoming" && this.ringing) {
      this.hungUp = this.ringing.callId;
      this.signal.send({ type: "call.hangup", call_id: this.ringing.callId });
      this.close("declined");
    } else if (this.inCall) {
      if (this.state.callId) {
        this.hungUp = this.state.callId;
        this.signal.send({ type: "call.hangup", call_id: this.state.callId });
      }
      this.close("hangup");
    }
  }

  toggleMute(): void {
    const muted = !this.state.muted;
    for (const track of this.microphone?.getAudioTracks() ?? []) track.enabled = !muted;
    this.update({ muted });
  }

  /** The `room` frame of a (re)connected socket: your id, your role, and the call the room has. */
  joined(room: Record<string, unknown>): void {
    this.you = typeof room.you === "string" ? room.you : null;
    this.polite = room.polite === true;
    const call = isRoomCall(room.call) ? room.call : null;
    if (call && call.call_id === this.hungUp) {
      // The hang-up never reached the room: say it again.
      this.signal.send({ type: "call.hangup", call_id: call.call_id });
      return;
    }
    this.hungUp = null;
    if (call && this.inCall && this.acknowledged && call.call_id !== this.state.callId) {
      // Our call ended while this socket was away, and another one has begun since.
      this.close("ended");
    }
    if (call) {
      if (call.here && call.call_id === this.state.callId && call.state === "answered") {
        // Our report may have been sent while the socket was down.
        if (this.pc?.connectionState === "connected")
          this.signal.send({ type: "call.connected", call_id: call.call_id });
      }
      this.follow(call);
    } else if (this.state.phase === "calling" && !this.acknowledged) {
      // Our offer may have gone out while the socket was down: the room has no call, so say it again.
      const offer = this.pc?.localDescription;
      if (offer?.type === "offer" && this.state.callId) {
        this.signal.send({ type: "call.offer", call_id: this.state.callId, sdp: offer.sdp });
      }
    } else if (this.inCall && this.acknowledged) {
      // The call ended while this socket was away and missed its `call.ended`.
      this.close("ended");
    } else if (this.state.phase === "incoming" || this.state.phase === "elsewhere") {
      this.ringing = null;
      this.update({ phase: "idle", callId: null });
    }
  }

  /** What the room says of the call: which device has it, and whether it is connected. */
  private follow(call: RoomCall): void {
    if (call.call_id === this.hungUp) return;
    if (call.call_id === this.state.callId && this.inCall) {
      this.acknowledged = true;
      if (!call.here && call.state !== "ringing") {
        // Another device of ours has this call (a copy of this tab, say): it is not ours to hold.
        this.letGo();
        this.update({ phase: "elsewhere" });
      } else if (call.state === "connected") {
        this.update({
          phase: "connected",
          connectedAt: call.connected_at ? Date.parse(call.connected_at) : Date.now(),
        });
      } else if (call.state === "answered" && this.state.phase === "calling") {
        this.update({ phase: "connecting" });
      }
      return;
    }
    if (this.inCall) return; // Our own call is about to be judged; its fate comes in its own frame.
    const ringsHere = call.state === "ringing" && call.started_by !== this.you && this.ringing?.callId === call.call_id;
    if (ringsHere) return;
    if (this.ringing?.callId === call.call_id) this.ringing = null; // Answered on another device.
    this.update({ phase: "elsewhere", callId: call.call_id, connection: null });
  }

  /** A frame from the room about the call. */
  async receive(frame: Record<string, unknown>): Promise<void> {
    const callId = typeof frame.call_id === "string" ? frame.call_id : null;
    switch (frame.type) {
      case "call.state":
        if (isRoomCall(frame)) this.follow(frame);
        return;
      case "call.offer": {
        if (!callId) return;
        const sdp = String(frame.sdp);
        if (this.pc && callId === this.state.callId) {
          // Renegotiation within the call (an ICE restart), with perfect negotiation's collision rule.
          const collision = this.makingOffer || this.pc.signalingState !== "stable";
          this.ignoreOffer = !this.polite && collision;
          if (this.ignoreOffer) return;
          await this.accept(this.pc, callId, sdp);
          return;
        }
        if (this.pc && this.state.phase !== "calling") {
          // A new call rings while we still hold one the room has ended (its end never reached us).
          this.close("ended");
        }
        this.ringing = { callId, sdp };
        if (this.state.phase === "calling") {
          // Both called at once. The polite side takes the partner's call; the impolite side waits for
          // the room, which ends the polite side's call in favour of its own.
          if (this.polite) {
            this.letGo();
            await this.answer();
          }
          return;
        }
        this.update({ phase: "incoming", callId, connection: null, endedReason: null });
        return;
      }
      case "call.answer":
        if (this.pc && callId === this.state.callId && this.pc.signalingState === "have-local-offer") {
          await this.pc.setRemoteDescription({ type: "answer", sdp: String(frame.sdp) });
          if (this.state.phase === "calling") this.update({ phase: "connecting" });
        }
        return;
      case "call.ice": {
        if (callId !== this.state.callId && callId !== this.ringing?.callId) return;
        const candidate = frame.candidate as RTCIceCandidateInit;
        if (!this.pc?.remoteDescription) {
          this.pendingCandidates.push(candidate);
          return;
        }
        try {
          await this.pc.addIceCandidate(candidate);
        } catch (error) {
          if (!this.ignoreOffer) throw error;
        }
        return;
      }
      case "call.ended":
        if (callId === this.hungUp) this.hungUp = null;
        if (callId === this.ringing?.callId) this.ringing = null;
        if (callId !== this.state.callId) return;
        if (frame.reason === "glare" && this.state.phase === "calling") {
          // Our call yielded to the partner's, whose offer comes next: it is taken as soon as it does.
          this.letGo();
          this.update({ callId: null });
          return;
        }
        if (this.state.phase === "elsewhere") this.update({ phase: "idle", callId: null });
        else this.close(String(frame.reason));
        return;
      case "error":
        if (callId === null) return;
        if (frame.code === "CALL_IN_PROGRESS") {
          if (this.state.phase !== "calling" || callId === this.state.callId) return;
          // The room kept another call: take it if it is the partner's ringing here, else it is on another device.
          this.letGo();
          if (this.ringing?.callId === callId) await this.answer();
          else this.update({ phase: "elsewhere", callId, connection: null });
        } else if (callId === this.state.callId && this.inCall) {
          if (frame.code === "NOT_IN_CALL") {
            this.letGo();
            this.update({ phase: "elsewhere" });
          } else if (frame.code !== "INVALID_FRAME") {
            const ringing = this.ringing;
            this.close(String(frame.code).toLowerCase());
            // Our call could not start, but the partner's rings here still.
            if (ringing) {
              this.ringing = ringing;
              this.update({ phase: "incoming", callId: ringing.callId });
            }
          }
        }
        return;
    }
  }

  /** Lets go of this device's peer connection and microphone; the phase is the caller's to set. */
  private letGo(): void {
    this.generation += 1;
    this.pc?.close();
    this.pc = null;
    for (const track of this.microphone?.getTracks() ?? []) track.stop();
    this.microphone = null;
    this.pendingCandidates = [];
    this.remoteAudio.srcObject = null;
  }

  private close(reason: string): void {
    this.letGo();
    this.ringing = null;
    this.update({ phase: "ended", connection: null, connectedAt: null, endedReason: reason });
  }

  /** The room's socket closed for good (replaced, signed out): this device can no longer be in a call. */
  lostRoom(): void {
    if (this.inCall || this.state.phase === "incoming") this.close("disconnected");
  }

  /**
   * The session was left through the API, which ends the call for both with its own reason (report
   * and leave: `reported`): this device lets go of its media without hanging up, so that no
   * `call.hangup` races the room's end and names the wrong reason.
   */
  leftSession(): void {
    this.close("reported");
  }

  /** Leaving the session screen ends the call this device is in; a call ringing here rings on elsewhere. */
  dispose(): void {
    if (this.inCall) this.hangUp();
    else this.letGo();
  }
}
