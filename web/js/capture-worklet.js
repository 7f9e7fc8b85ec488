// AudioWorklet processor: microphone samples at the context's rate in, 20 ms frames of
// PCM16 at the target rate (16 kHz) out through the port, plus a level for the meter.
// It is its own file because the CSP allows worklet modules from this origin only.

const FRAME_MS = 20;

class PcmCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const target = (options.processorOptions && options.processorOptions.targetRate) || 16000;
    this.step = sampleRate / target; // input samples per output sample
    // One-pole low-pass below the target's Nyquist frequency, against aliasing.
    this.alpha = 1 - Math.exp((-2 * Math.PI * (0.45 * target)) / sampleRate);
    this.smoothed = 0;
    this.previous = 0; // the last (filtered) input sample of the previous block
    this.position = 0; // where the next output sample falls, relative to ``previous``
    this.frameSamples = Math.round((target * FRAME_MS) / 1000);
    this.frame = new Int16Array(this.frameSamples);
    this.filled = 0;
    this.levelSum = 0;
    this.levelCount = 0;
  }

  process(inputs) {
    const input = inputs[0] && inputs[0][0];
    if (!input) return true;
    const filtered = new Float32Array(input.length);
    for (let i = 0; i < input.length; i++) {
      this.smoothed += this.alpha * (input[i] - this.smoothed);
      filtered[i] = this.smoothed;
      this.levelSum += input[i] * input[i];
    }
    this.levelCount += input.length;
    // Linear interpolation over [previous, filtered...]: index 0 is ``previous``.
    let position = this.position;
    while (position < filtered.length) {
      const index = Math.floor(position);
      const fraction = position - index;
      const left = index === 0 ? this.previous : filtered[index - 1];
      const right = filtered[index];
      const sample = left + (right - left) * fraction;
      const clipped = Math.max(-1, Math.min(1, sample));
      this.frame[this.filled++] = clipped < 0 ? clipped * 0x8000 : clipped * 0x7fff;
      if (this.filled === this.frame.length) {
        // The buffer is handed over (transferred), not copied: a fresh one follows.
        this.port.postMessage({ pcm: this.frame.buffer }, [this.frame.buffer]);
        this.frame = new Int16Array(this.frameSamples);
        this.filled = 0;
      }
      position += this.step;
    }
    this.position = position - filtered.length;
    this.previous = filtered[filtered.length - 1];
    if (this.levelCount >= sampleRate / 20) {
      this.port.postMessage({ level: Math.sqrt(this.levelSum / this.levelCount) });
      this.levelSum = 0;
      this.levelCount = 0;
    }
    return true;
  }
}

registerProcessor("pcm-capture", PcmCapture);
