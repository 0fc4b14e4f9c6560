import { SingleBar } from "cli-progress";

export interface ProgressState {
  regionsDone: number;
  regions: number;
  vpcsEvaluated: number;
  changes: number;
  /** What the reading phase counts: regions (one account) or accounts (organization mode). */
  unit?: "regions" | "accounts";
}

/**
 * Progress of a run on stderr, in two phases: reading regions (N of M), then making changes (N of M,
 * with an ETA). A terminal that can redraw gets a bar; TERM=dumb or NO_COLOR get a plain line per
 * phase and then every few seconds; a pipe or `--json` gets nothing.
 */
export interface Progress {
  update(state: ProgressState): void;
  /** The changes phase starts: `total` changes are planned. */
  changing(total: number): void;
  /** Takes the display off the screen (before a prompt or the report). */
  done(): void;
}

type Env = Record<string, string | undefined>;
type Phase = {
  name: "reading" | "changing";
  total: number;
  value: number;
  vpcs: number;
  unit: "regions" | "accounts" | "changes";
};

const silent: Progress = { update() {}, changing() {}, done() {} };

/** Whether the terminal can take cursor movements and redraws. */
export function canRedraw(env: Env): boolean {
  return env.TERM !== "dumb" && env.NO_COLOR === undefined;
}

export function createProgress(
  enabled: boolean,
  stream: NodeJS.WriteStream = process.stderr,
  env: Env = process.env,
  plainIntervalMs = 5_000,
): Progress {
  if (!enabled || !stream.isTTY) return silent;
  const phase: Phase = { name: "reading", total: 0, value: 0, vpcs: 0, unit: "regions" };
  const show = canRedraw(env) ? barDisplay(stream) : plainDisplay(stream, plainIntervalMs);
  return {
    update(state) {
      phase.vpcs = state.vpcsEvaluated;
      if (phase.name === "reading") {
        phase.unit = state.unit ?? "regions";
        phase.total = state.regions;
        phase.value = state.regionsDone;
      } else {
        phase.value = Math.min(state.changes, phase.total);
      }
      show.draw(phase);
    },
    changing(total) {
      Object.assign(phase, { name: "changing", total, value: 0, unit: "changes" });
      show.draw(phase);
    },
    done() {
      show.stop();
    },
  };
}

interface Display {
  draw(phase: Phase): void;
  stop(): void;
}

function barDisplay(stream: NodeJS.WriteStream): Display {
  const bar = new SingleBar({
    stream,
    format: "{phase} [{bar}] {value}/{total} {unit} · {vpcs} VPCs · ETA {eta_formatted}",
    barsize: 20,
    hideCursor: true,
    clearOnComplete: true,
    etaBuffer: 50,
  });
  let shown: Phase["name"] | undefined;
  return {
    draw(phase) {
      const payload = { phase: phase.name.padEnd(8), unit: phase.unit, vpcs: phase.vpcs };
      if (shown !== phase.name) {
        if (shown) bar.stop();
        bar.start(phase.total, phase.value, payload);
        shown = phase.name;
      } else {
        bar.setTotal(phase.total);
        bar.update(phase.value, payload);
      }
    },
    stop() {
      if (shown) bar.stop();
      shown = undefined;
    },
  };
}

/** One line per phase change, then one every `intervalMs`: for terminals that cannot redraw. */
function plainDisplay(stream: NodeJS.WriteStream, intervalMs: number): Display {
  let last: { name: Phase["name"]; at: number; value: number } | undefined;
  const started = { reading: Date.now(), changing: Date.now() };
  return {
    draw(phase) {
      const now = Date.now();
      if (last?.name === phase.name) {
        if (last.value === phase.value) return;
        if (now - last.at < intervalMs && phase.value < phase.total) return;
      } else {
        started[phase.name] = now;
      }
      last = { name: phase.name, at: now, value: phase.value };
      const elapsed = (now - started[phase.name]) / 1000;
      const eta =
        phase.value > 0 && phase.value < phase.total
          ? ` · ETA ${Math.round((elapsed / phase.value) * (phase.total - phase.value))}s`
          : "";
      stream.write(`${phase.name}: ${phase.value}/${phase.total} ${phase.unit} · ${phase.vpcs} VPCs${eta}\n`);
    },
    stop() {},
  };
}
