/** A one-line progress display on a terminal's stderr; nothing at all when stderr is not a TTY. */
export interface Progress {
  update(progress: {
    regionsDone: number;
    regions: number;
    vpcsEvaluated: number;
    changes: number;
    /** What is counted: regions (one account) or accounts (organization mode). */
    unit?: "regions" | "accounts";
  }): void;
  done(): void;
}

export function createProgress(enabled: boolean, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!enabled || !stream.isTTY) return { update() {}, done() {} };
  let shown = false;
  const started = Date.now();
  return {
    update({ regionsDone, regions, vpcsEvaluated, changes, unit = "regions" }) {
      const width = 20;
      const filled = regions === 0 ? width : Math.round((regionsDone / regions) * width);
      const bar = `${"#".repeat(filled)}${"-".repeat(width - filled)}`;
      const seconds = ((Date.now() - started) / 1000).toFixed(0);
      stream.write(
        `\r[${bar}] ${unit} ${regionsDone}/${regions} · VPCs evaluated ${vpcsEvaluated} · changes ${changes} · ${seconds}s `,
      );
      shown = true;
    },
    done() {
      if (shown) stream.write("\r\x1b[2K");
    },
  };
}
