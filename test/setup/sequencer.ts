import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { isHeavy } from './heavy-list.js';

/**
 * Heavy files run one at a time (heavy-files.ts): the suite's wall time is their chain. The order
 * alternates heavy and light files (each group longest first, as vitest's own sequencer orders
 * them), so that while one worker runs a heavy file the other works through light ones, and the
 * next heavy file is always at hand when the last one ends.
 */
export class HeavyLightSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const root = this.ctx.config.root;
    const heavy = sorted.filter((f) => isHeavy(relative(root, f.moduleId)));
    const light = sorted.filter((f) => !isHeavy(relative(root, f.moduleId)));
    const out: TestSpecification[] = [];
    while (heavy.length > 0 || light.length > 0) {
      const h = heavy.shift();
      if (h) out.push(h);
      // Light files enough to fill the time of a heavy one: two at a time.
      out.push(...light.splice(0, 2));
    }
    return out;
  }
}
