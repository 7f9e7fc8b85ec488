// The interview room: microphone → AudioWorklet → 16 kHz PCM16 frames over the live
// socket; the interviewer's PCM16 played back to back in an AudioContext; captions of
// both sides; "I'm done", mute, typed answers, end; reconnects after a dropped socket,
// but not after the interview ended or another tab took it over.
// ``window.intrvuerRoom`` exposes counters of the audio pipeline (tests read them).
import { api, ApiError } from "./api.js";
import { errorBox, h, render, submitActions, toast } from "./ui.js";

const INPUT_RATE = 16000;
const OUTPUT_RATE = 24000;
const START_LEAD_S = 0.05; // first frame of a burst starts this far ahead, against clicks
const MAX_RECONNECTS = 5;
const MAX_BUFFERED_BYTES = 256 * 1024; // beyond this the socket is stalled: drop mic frames
// The server closes an older connection with this code when a newer one (a reload, another
// tab) takes the interview over; reconnecting would only take it back, and so on.
const REPLACED_CLOSE_CODE = 4409;
const DELETED_CLOSE_CODE = 4404; // the interview was deleted (in another tab, say)
// A draining server closes with this code after `error server_restarting`: the interview
// continues on whichever server answers the next ticket, at once and without counting as
// a failed attempt.
const RESTART_CLOSE_CODE = 1012;
// A draining server refuses tickets with 503 `draining` and Retry-After: 1; ask again
// this often, up to this many times, while the load balancer moves the client on.
const DRAINING_RETRY_MS = 1000;
const MAX_DRAINING_RETRIES = 60;

const STATE_TEXT = {
  idle: "Ready when you are",
  connecting: "Connecting…",
  speaking: "Interviewer speaking",
  listening: "Listening",
  thinking: "Thinking…",
  ended: "Interview ended",
  replaced: "This interview continued in another tab or window.",
  deleted: "This interview was deleted.",
};

export async function roomPage(interviewId) {
  const interview = await api(`/v1/interviews/${interviewId}`);
  const room = new Room(interviewId);
  window.intrvuerRoom = room.counters;
  render(room.view(interview));
  if (!["created", "live"].includes(interview.status)) room.setState("ended");
  return () => room.leave();
}

class Room {
  constructor(interviewId) {
    this.interviewId = interviewId;
    this.counters = {
      state: "idle",
      framesCaptured: 0,
      framesSent: 0,
      framesReceived: 0,
      framesScheduled: 0,
      secondsScheduled: 0,
      stoppedPlayback: 0,
      bargeIns: 0,
      pauses: 0, // the candidate spoke over the interviewer: its audio held
      resumes: 0, // ... and played on from there (a backchannel, a noise)
      heldSeconds: 0, // interviewer audio held at the last pause, not yet played
      activeSources: 0,
      reconnects: 0,
      moves: 0, // sessions moved off a draining server (close 1012)
      transcripts: 0,
      lastLevel: 0,
      simulateDrop: () => this.socket && this.socket.close(4000, "simulated drop"),
    };
    this.socket = null;
    this.ready = false;
    this.finished = false; // interview_end seen, or the candidate left
    this.muted = false;
    this.outputRate = OUTPUT_RATE;
    this.sources = new Map(); // scheduled interviewer audio: source -> { buffer, at }
    this.held = null; // while paused: the audio not yet played, as { buffer, offset }
    this.nextTime = 0;
    this.acceptAudio = true;
    this.agentCaption = null;
    this.userCaption = null;
    this.agentDone = true;
    this.attempts = 0;
    this.drainingRetries = 0;
  }

  view(interview) {
    this.stateEl = h("p", { class: "room-state", id: "room-state", role: "status", "aria-live": "polite", dataset: { state: "idle" } }, STATE_TEXT.idle);
    this.meter = h("meter", { class: "meter", id: "mic-level", min: 0, max: 1, low: 0.02, high: 0.5, value: 0, "aria-label": "Microphone level" });
    this.captions = h("div", { class: "captions", id: "captions", role: "log", "aria-live": "polite", "aria-label": "Captions" });
    this.agentText = h("p", { id: "interviewer-text", "aria-live": "off" });
    this.errorEl = errorBox("room-error");
    this.joinButton = h("button", { type: "button", id: "join", onclick: () => this.join() }, "Join and allow the microphone");
    this.doneButton = h("button", { type: "button", id: "end-turn", disabled: true, onclick: () => this.endTurn() }, "I'm done");
    this.muteButton = h("button", { type: "button", id: "mute", class: "secondary", disabled: true, "aria-pressed": "false", onclick: () => this.toggleMute() }, "Mute");
    this.stopButton = h("button", { type: "button", id: "end-interview", class: "danger", disabled: true, onclick: () => this.stop() }, "End interview");
    this.typed = h("textarea", { id: "typed-answer", rows: 3, maxlength: 5000 });
    this.typedForm = h("form", { class: "typed", "aria-labelledby": "typed-label" },
      h("label", { id: "typed-label", for: "typed-answer" }, "Type your answer instead"),
      this.typed,
      submitActions("Send answer", { id: "send-typed", disabled: true }));
    this.typedForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.sendTyped();
    });
    this.reportLink = h("a", { class: "button", id: "open-report", href: `#/interviews/${this.interviewId}/report`, hidden: true }, "Open the report");
    const questions = interview.questions.length;
    let resumed = null;
    if (interview.status === "live") {
      resumed = h("p", { id: "room-resume-note" }, interview.end_reason === "disconnected"
        ? "You left this interview before the end. Join to continue where you stopped."
        : "This interview is in progress. Joining here continues it; another tab or window that has it open stops.");
    }
    return h("div", {},
      h("h1", {}, "Interview room"),
      h("p", { class: "muted" }, `${interview.type} interview · ${questions} question${questions === 1 ? "" : "s"}`),
      resumed,
      h("div", { class: "room" },
        h("section", { class: "card", "aria-labelledby": "captions-title" },
          this.stateEl,
          h("h2", { id: "captions-title" }, "Captions"),
          this.captions),
        h("section", { class: "card", "aria-labelledby": "controls-title" },
          h("h2", { id: "controls-title" }, "Controls"),
          h("div", { class: "room-controls" }, this.joinButton, this.doneButton, this.muteButton, this.stopButton),
          h("label", { for: "mic-level" }, "Microphone level"), this.meter,
          h("h2", {}, "Interviewer says"), this.agentText,
          this.typedForm, this.errorEl, this.reportLink)));
  }

  setState(state) {
    this.counters.state = state;
    this.stateEl.dataset.state = state;
    this.stateEl.textContent = STATE_TEXT[state] || state;
    if (["ended", "replaced", "deleted"].includes(state)) {
      for (const button of [this.doneButton, this.muteButton, this.stopButton, this.joinButton]) button.disabled = true;
      this.typedForm.querySelector("button").disabled = true;
      this.reportLink.hidden = state !== "ended";
    }
  }

  async join() {
    this.joinButton.disabled = true;
    this.errorEl.textContent = "";
    this.setState("connecting");
    try {
      // Created on the click: browsers start audio only after a user gesture.
      this.context = new AudioContext({ latencyHint: "interactive" });
      await this.context.audioWorklet.addModule("/js/capture-worklet.js");
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
      });
      const source = this.context.createMediaStreamSource(this.stream);
      this.capture = new AudioWorkletNode(this.context, "pcm-capture", {
        processorOptions: { targetRate: INPUT_RATE },
      });
      this.capture.port.onmessage = (event) => this.onCapture(event.data);
      // The worklet must be pulled by the graph to run; a silent gain keeps the mic out
      // of the speakers.
      const sink = this.context.createGain();
      sink.gain.value = 0;
      source.connect(this.capture).connect(sink).connect(this.context.destination);
      this.playback = this.context.createGain();
      this.playback.connect(this.context.destination);
      await this.context.resume();
      this.joinButton.hidden = true;
    } catch (error) {
      this.setState("idle");
      this.joinButton.disabled = false;
      this.errorEl.textContent = `The microphone could not be opened (${error.message}). You can still type your answers after joining.`;
      return;
    }
    await this.connect();
  }

  async connect() {
    this.setState("connecting");
    let ticket;
    try {
      ticket = await api(`/v1/interviews/${this.interviewId}/ticket`, { method: "POST" });
    } catch (error) {
      if (error instanceof ApiError && error.code === "interview_ended") {
        this.finished = true;
        this.setState("ended");
        return;
      }
      if (error instanceof ApiError && error.status === 404) {
        this.finish("deleted");
        return;
      }
      if (error instanceof ApiError && error.code === "draining"
          && this.drainingRetries < MAX_DRAINING_RETRIES) {
        this.drainingRetries += 1;
        this.setState("connecting");
        this.retryTimer = setTimeout(() => this.connect(), DRAINING_RETRY_MS);
        return;
      }
      this.retry(error.message);
      return;
    }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const url = `${scheme}://${location.host}/v1/interviews/${this.interviewId}/live?ticket=${encodeURIComponent(ticket.ticket)}`;
    const socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    this.ready = false;
    socket.onopen = () => {
      socket.send(JSON.stringify({
        type: "start",
        input: { sample_rate: INPUT_RATE },
        output: { sample_rate: OUTPUT_RATE },
      }));
    };
    socket.onmessage = (event) => {
      if (typeof event.data === "string") this.onEvent(JSON.parse(event.data));
      else this.onAudio(event.data);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.ready = false;
      this.setControls(false);
      // 4409 without its error event (lost with the connection) means the same.
      if (event.code === REPLACED_CLOSE_CODE) this.finish("replaced");
      else if (event.code === DELETED_CLOSE_CODE) this.finish("deleted");
      else if (event.code === RESTART_CLOSE_CODE && !this.finished) {
        this.counters.moves += 1;
        this.attempts = 0;
        this.drainingRetries = 0;
        this.retry("The server restarted.");
      }
      else if (!this.finished) this.retry("The connection dropped.");
    };
  }

  retry(reason) {
    this.stopPlayback();
    if (this.attempts >= MAX_RECONNECTS) {
      this.errorEl.textContent = `${reason} Reconnecting failed; reload the page to try again.`;
      this.setState("idle");
      return;
    }
    const delay = 250 * 2 ** this.attempts;
    this.attempts += 1;
    this.counters.reconnects += 1;
    this.setState("connecting");
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  setControls(enabled) {
    for (const button of [this.doneButton, this.muteButton, this.stopButton]) button.disabled = !enabled;
    this.typedForm.querySelector("button").disabled = !enabled;
  }

  onCapture(message) {
    if (message.level !== undefined) {
      this.counters.lastLevel = message.level;
      this.meter.value = this.muted ? 0 : Math.min(1, message.level * 4);
      return;
    }
    this.counters.framesCaptured += 1;
    const socket = this.socket;
    if (!this.ready || this.muted || !socket || socket.readyState !== WebSocket.OPEN) return;
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) return;
    socket.send(message.pcm);
    this.counters.framesSent += 1;
  }

  onEvent(event) {
    switch (event.type) {
      case "ready":
        this.ready = true;
        this.attempts = 0;
        this.drainingRetries = 0;
        if (event.output && event.output.sample_rate) this.outputRate = event.output.sample_rate;
        this.setControls(true);
        this.setState("thinking");
        if (event.resumed) toast("Reconnected: the interview goes on.");
        break;
      case "agent_turn_start":
        this.acceptAudio = true;
        this.agentDone = false;
        this.agentCaption = this.caption("interviewer", "");
        this.agentText.textContent = "";
        this.setState("thinking");
        break;
      case "agent_text":
        // The text arrives as its audio starts playing.
        this.setState("speaking");
        if (!this.agentCaption) this.agentCaption = this.caption("interviewer", "");
        this.agentCaption.text.textContent += event.text;
        this.agentText.textContent += event.text;
        break;
      case "agent_audio_pause":
        this.pausePlayback();
        break;
      case "agent_audio_resume":
        this.resumePlayback();
        break;
      case "agent_turn_end":
        if (this.agentCaption) {
          this.agentCaption.text.textContent = event.text;
          if (event.interrupted) {
            const note = event.text ? " (interrupted)" : "(interrupted before speaking)";
            this.agentCaption.el.append(h("span", { class: "muted" }, note));
          }
        }
        this.agentText.textContent = event.text;
        this.agentCaption = null;
        this.agentDone = true;
        if (event.interrupted) {
          this.counters.bargeIns += 1;
          this.acceptAudio = false;
          this.stopPlayback();
          this.setState("listening");
        } else {
          this.listenAfterPlayback();
        }
        break;
      case "transcript":
        this.counters.transcripts += 1;
        if (!this.userCaption) this.userCaption = this.caption("candidate", "");
        this.userCaption.text.textContent = event.text;
        this.userCaption.el.classList.toggle("interim", !event.final);
        if (this.counters.state !== "speaking") this.setState("listening");
        break;
      case "user_turn_end":
        if (!this.userCaption) this.userCaption = this.caption("candidate", "");
        this.userCaption.text.textContent = event.text;
        this.userCaption.el.classList.remove("interim");
        this.userCaption = null;
        this.setState("thinking");
        break;
      case "metrics":
        this.counters.lastMetrics = event.metrics;
        break;
      case "interview_end":
        this.finished = true;
        this.setState("ended");
        this.reportLink.focus();
        break;
      case "error":
        if (event.code === "session_replaced" || event.code === "interview_deleted") {
          this.finish(event.code === "session_replaced" ? "replaced" : "deleted");
          break;
        }
        if (event.code === "server_restarting") {
          // Not a failure: the close (1012) that follows reconnects at once.
          this.errorEl.textContent = "";
          break;
        }
        this.errorEl.textContent = event.message;
        if (event.fatal) this.finished = true;
        break;
      default:
        break;
    }
  }

  caption(who, text) {
    const textEl = h("span", { class: "text" }, text);
    const el = h("p", { class: `caption ${who}` }, h("span", { class: "who" }, who === "candidate" ? "You:" : "Interviewer:"), textEl);
    this.captions.append(el);
    this.captions.scrollTop = this.captions.scrollHeight;
    return { el, text: textEl };
  }

  onAudio(data) {
    this.counters.framesReceived += 1;
    if (!this.acceptAudio || !this.context || data.byteLength < 2) return;
    const pcm = new Int16Array(data, 0, data.byteLength >> 1);
    const buffer = this.context.createBuffer(1, pcm.length, this.outputRate);
    const channel = buffer.getChannelData(0);
    for (let i = 0; i < pcm.length; i++) channel[i] = pcm[i] / 32768;
    this.counters.framesScheduled += 1;
    this.counters.secondsScheduled += buffer.duration;
    if (this.held) {
      this.held.push({ buffer, offset: 0 }); // sent before the pause reached the server
      return;
    }
    this.schedule(buffer, 0);
  }

  schedule(buffer, offset) {
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.playback);
    // Back to back: each frame starts exactly where the previous one ends.
    const now = this.context.currentTime;
    if (this.nextTime < now) this.nextTime = now + START_LEAD_S;
    source.start(this.nextTime, offset);
    this.sources.set(source, { buffer, at: this.nextTime - offset });
    this.nextTime += buffer.duration - offset;
    this.counters.activeSources = this.sources.size;
    source.onended = () => {
      this.sources.delete(source);
      this.counters.activeSources = this.sources.size;
    };
  }

  silenceSources() {
    for (const source of this.sources.keys()) {
      try { source.stop(); } catch (e) { /* already stopped */ }
    }
    this.sources.clear();
    this.counters.activeSources = 0;
    if (this.context) this.nextTime = this.context.currentTime;
  }

  stopPlayback() {
    const held = this.held;
    this.held = null;
    if (!this.sources.size && !held) return;
    this.silenceSources();
    this.counters.stoppedPlayback += 1;
  }

  // The candidate spoke over the interviewer: stop at once, keeping what was not played.
  pausePlayback() {
    if (this.held || !this.context) return;
    const now = this.context.currentTime;
    const held = [];
    const entries = [...this.sources.values()].sort((a, b) => a.at - b.at);
    for (const { buffer, at } of entries) {
      if (at + buffer.duration <= now) continue;
      held.push({ buffer, offset: Math.max(0, now - at) });
    }
    this.silenceSources();
    this.held = held;
    this.counters.pauses += 1;
    this.counters.heldSeconds = held.reduce((sum, h) => sum + h.buffer.duration - h.offset, 0);
  }

  // It was no interruption: play on from exactly where the pause stopped the audio.
  resumePlayback() {
    const held = this.held;
    this.held = null;
    if (!held || !this.context) return;
    this.counters.resumes += 1;
    this.nextTime = 0; // start afresh, just ahead of now
    for (const { buffer, offset } of held) this.schedule(buffer, offset);
  }

  listenAfterPlayback() {
    const left = this.context ? Math.max(0, this.nextTime - this.context.currentTime) : 0;
    clearTimeout(this.listenTimer);
    this.listenTimer = setTimeout(() => {
      if (this.agentDone && !this.finished && ["speaking", "thinking"].includes(this.counters.state)) this.setState("listening");
    }, left * 1000);
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  endTurn() {
    this.send({ type: "end_turn" });
    this.setState("thinking");
  }

  toggleMute() {
    this.muted = !this.muted;
    for (const track of this.stream ? this.stream.getAudioTracks() : []) track.enabled = !this.muted;
    this.muteButton.setAttribute("aria-pressed", String(this.muted));
    this.muteButton.textContent = this.muted ? "Unmute" : "Mute";
    toast(this.muted ? "Microphone muted." : "Microphone on.");
  }

  sendTyped() {
    const text = this.typed.value.trim();
    if (!text) return;
    this.send({ type: "text", text });
    // The server echoes the answer in user_turn_end: that fills this same caption.
    this.userCaption = this.caption("candidate", text);
    this.typed.value = "";
    this.setState("thinking");
  }

  stop() {
    this.stopButton.disabled = true;
    this.stopPlayback();
    this.send({ type: "stop" });
  }

  /** The room is over for this page (another tab took the interview, or it was deleted):
   * no reconnecting, and the microphone is released for the page that goes on. */
  finish(state) {
    if (this.counters.state === state) return;
    this.finished = true;
    clearTimeout(this.retryTimer);
    this.stopPlayback();
    this.acceptAudio = false;
    for (const track of this.stream ? this.stream.getTracks() : []) track.stop();
    this.errorEl.textContent = "";
    this.setState(state);
  }

  async leave() {
    this.finished = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.listenTimer);
    if (this.socket) this.socket.close(1000, "left the room");
    this.socket = null;
    for (const track of this.stream ? this.stream.getTracks() : []) track.stop();
    if (this.context) await this.context.close();
  }
}
