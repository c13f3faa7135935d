import { createRequire } from 'node:module';
import type * as pngjs from 'pngjs';
import type { Resolution } from './config.js';

const require = createRequire(import.meta.url);

/** The screen is drawn at a quarter of the effective resolution to keep a call cheap. */
const SCALE = 4;

/** A distinct, stable colour per instance index. */
function colourFor(index: number): [number, number, number] {
  const hue = (index * 137) % 360;
  const c = 200;
  const x = Math.round(c * (1 - Math.abs(((hue / 60) % 2) - 1)));
  const sector = Math.floor(hue / 60);
  const rgb: [number, number, number][] = [[c, x, 0], [x, c, 0], [0, c, x], [0, x, c], [x, 0, c], [c, 0, x]];
  return rgb[sector] ?? [c, c, c];
}

/** A real PNG that differs per instance: a solid colour from the index with a band marking the index in binary. */
export function screencapPng(index: number, resolution: Resolution): Buffer {
  const { PNG } = require('pngjs') as typeof pngjs;
  const width = Math.max(1, Math.round(resolution.width / SCALE));
  const height = Math.max(1, Math.round(resolution.height / SCALE));
  const png = new PNG({ width, height });
  const [r, g, b] = colourFor(index);
  const bandHeight = Math.min(8, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = Math.floor((x / width) * 16);
      const inBand = y < bandHeight && ((index >> (15 - bit)) & 1) === 1;
      const at = (y * width + x) * 4;
      png.data[at] = inBand ? 255 : r;
      png.data[at + 1] = inBand ? 255 : g;
      png.data[at + 2] = inBand ? 255 : b;
      png.data[at + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}
