import { api, ok } from "./api";

export type CallPhase = "idle" | "incoming" | "calling" | "connecting" | "connected" | "ended";

export interface CallState {
  phase: CallPhase;
  callId: string | null;
  muted: boolean;
  /** When the call connected (epoch ms), for the timer. */
  connectedAt: number | null;
  /** RTCPeerConnection's own view: new, connecting, connected, disconnected, failed, closed. */
  connection: RTCPeerConnectionState | null;
  endedReason: string | null;
}

/** Where frames go: the session room's socket. */
export interface Signal {
  send(frame: Record<string, unknown>): boolean;
}

/**
 * One learner's side of the session's voice call: WebRTC with the "perfect negotiation" pattern,
 * signalled through the room (which relays each frame to the partner). `polite` comes from the
 * room: the polite side yields when both offer at once.
 *
 * Developers can force relaying through TURN with `localStorage["gaplash.iceTransportPolicy"] = "relay"`.
 */
export class Call {
  private pc: RTCPeerConnection | null = null;
  private microphone: MediaStream | null = null;
  private readonly remoteAudio = new Audio();
  private makingOffer = false;
  private ignoreOffer = false;
  private pendingOffer: { callId: string; sdp: string } | null = null;
  /** Candidates that came before the offer was accepted, applied right after it is. */
  private pendingCandidates: RTCIceCandidateInit[] = [];
  private announcedConnected = false;
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
    private polite: boolean,
    private readonly onChange: (state: CallState) => void,
  ) {
    this.remoteAudio.autoplay = true;
  }

  setPolite(polite: boolean): void {
    this.polite = polite;
  }

  private update(patch: Partial<CallState>): void {
    this.state = { ...this.state, ...patch };
    this.onChange(this.state);
  }

  private async open(callId: string): Promise<RTCPeerConnection> {
    const servers = await ok(await api.sessions[":id"].call["ice-servers"].$post({ param: { id: this.sessionId } }));
    const policy = localStorage.getItem("gaplash.iceTransportPolicy") === "relay" ? "relay" : "all";
    const pc = new RTCPeerConnection({ iceServers: servers.ice_servers, iceTransportPolicy: policy });
    this.pc = pc;
    this.announcedConnected = false;
    this.microphone = await navigator.mediaDevices.getUserMedia({ audio: true });
    for (const track of this.microphone.getTracks()) pc.addTrack(track, this.microphone);
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
      } finally {
        this.makingOffer = false;
      }
    };
    pc.onconnectionstatechange = () => {
      this.update({ connection: pc.connectionState });
      if (pc.connectionState === "connected" && !this.announcedConnected) {
        this.announcedConnected = true;
        this.signal.send({ type: "call.connected", call_id: callId });
        this.update({ phase: "connected", connectedAt: this.state.connectedAt ?? Date.now() });
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
    this.update({ phase: "calling", callId, connectedAt: null, endedReason: null, muted: false });
    await this.open(callId);
  }

  /** Answers the incoming call. */
  async answer(): Promise<void> {
    const offer = this.pendingOffer;
    if (!offer) return;
    this.pendingOffer = null;
    this.update({ phase: "connecting" });
    const pc = await this.open(offer.callId);
    await this.accept(pc, offer.callId, offer.sdp);
  }

  private async accept(pc: RTCPeerConnection, callId: string, sdp: string): Promise<void> {
    await pc.setRemoteDescription({ type: "offer", sdp });
    for (const candidate of this.pendingCandidates.splice(0)) await pc.addIceCandidate(candidate);
    await pc.setLocalDescription();
    this.signal.send({ type: "call.answer", call_id: callId, sdp: pc.localDescription?.sdp ?? "" });
  }

  hangUp(): void {
    if (this.state.callId) this.signal.send({ type: "call.hangup", call_id: this.state.callId });
    this.close("hangup");
  }

  toggleMute(): void {
    const muted = !this.state.muted;
    for (const track of this.microphone?.getAudioTracks() ?? []) track.enabled = !muted;
    this.update({ muted });
  }

  /** A frame from the room about the call. */
  async receive(frame: Record<string, unknown>): Promise<void> {
    const callId = typeof frame.call_id === "string" ? frame.call_id : null;
    switch (frame.type) {
      case "call.offer": {
        const sdp = String(frame.sdp);
        if (this.pc && callId !== this.state.callId) {
          // Both called at once and the partner's call reached the room first: it is the call.
          this.pc.close();
          this.pc = null;
        }
        if (!this.pc) {
          this.pendingOffer = { callId: callId ?? "", sdp };
          if (this.state.phase === "calling") await this.answer();
          else this.update({ phase: "incoming", callId });
          return;
        }
        // Renegotiation within the call, with perfect negotiation's collision rule.
        const collision = this.makingOffer || this.pc.signalingState !== "stable";
        this.ignoreOffer = !this.polite && collision;
        if (this.ignoreOffer) return;
        await this.accept(this.pc, callId ?? "", sdp);
        return;
      }
      case "call.answer":
        if (this.pc && this.pc.signalingState === "have-local-offer") {
          await this.pc.setRemoteDescription({ type: "answer", sdp: String(frame.sdp) });
          this.update({ phase: this.state.phase === "calling" ? "connecting" : this.state.phase });
        }
        return;
      case "call.ice": {
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
        if (callId === this.state.callId || this.state.phase === "incoming") this.close(String(frame.reason));
        return;
      case "error":
        // The partner's call won the race: drop ours and take theirs when its offer arrives.
        if (frame.code === "CALL_IN_PROGRESS" && this.state.phase === "calling") {
          this.pc?.close();
          this.pc = null;
          this.update({ callId });
        } else if (frame.code === "PEER_OFFLINE" || frame.code === "SESSION_ENDED") {
          this.close(String(frame.code).toLowerCase());
        }
        return;
    }
  }

  private close(reason: string): void {
    this.pc?.close();
    this.pc = null;
    for (const track of this.microphone?.getTracks() ?? []) track.stop();
    this.microphone = null;
    this.pendingOffer = null;
    this.pendingCandidates = [];
    this.remoteAudio.srcObject = null;
    this.update({ phase: "ended", connection: null, endedReason: reason });
  }

  dispose(): void {
    if (this.state.phase !== "idle" && this.state.phase !== "ended") this.hangUp();
  }
}
