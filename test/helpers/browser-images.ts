import { encodePng, encodeTiff } from '@quorum/shared';

/**
 * Test images for the browser suites and the client benchmark, made in memory: nuclei-like blobs at any size and
 * bit depth, a multi-page 16-bit TIFF, and broken files.
 */

/** A deterministic PRNG (mulberry32), so every run draws the same image. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Bright elliptical "nuclei" on a dim noisy background, one grey channel. `max` is the brightest value (255 for
 * 8-bit, e.g. 40000 for 16-bit), so the same scene can be written at either depth.
 */
export function syntheticNuclei(
  width: number,
  height: number,
  options: { seed?: number; max?: number } = {},
) {
  const next = rng(options.seed ?? 1);
  const max = options.max ?? 255;
  const out = new Float32Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = 0.05 + 0.03 * next();
  const count = Math.max(1, Math.round((width * height) / 1800));
  for (let k = 0; k < count; k++) {
    const cx = next() * width;
    const cy = next() * height;
    const rx = 5 + next() * 8;
    const ry = 5 + next() * 8;
    const level = 0.5 + 0.5 * next();
    const x0 = Math.max(0, Math.floor(cx - rx));
    const x1 = Math.min(width - 1, Math.ceil(cx + rx));
    const y0 = Math.max(0, Math.floor(cy - ry));
    const y1 = Math.min(height - 1, Math.ceil(cy + ry));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const d = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2;
        if (d <= 1) out[y * width + x] = Math.max(out[y * width + x]!, level * (1 - 0.3 * d));
      }
    }
  }
  const Typed = max > 255 ? Uint16Array : Uint8Array;
  const data = new Typed(width * height);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(Math.min(1, out[i]!) * max);
  return data;
}

export function nucleiPng(width: number, height: number, seed = 1): Uint8Array {
  return encodePng(syntheticNuclei(width, height, { seed }) as Uint8Array, width, height);
}

export function nucleiTiff16(width: number, height: number, seed = 1): Uint8Array {
  return encodeTiff(syntheticNuclei(width, height, { seed, max: 40000 }) as Uint16Array, width, height);
}

/**
 * A little-endian, uncompressed, multi-page 16-bit greyscale TIFF (one strip per page), since the shared writer
 * writes single pages.
 */
export function multiPageTiff16(pages: readonly Uint16Array[], width: number, height: number): Uint8Array {
  const entries = 9;
  const ifdBytes = 2 + entries * 12 + 4;
  const pageBytes = width * height * 2;
  const total = 8 + pages.length * (ifdBytes + pageBytes);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set([0x49, 0x49]);
  view.setUint16(2, 42, true);
  view.setUint32(4, 8, true);
  let at = 8;
  pages.forEach((page, p) => {
    const dataAt = at + ifdBytes;
    const tags: [number, number, number][] = [
      [256, 4, width],
      [257, 4, height],
      [258, 3, 16],
      [259, 3, 1],
      [262, 3, 1],
      [273, 4, dataAt],
      [277, 3, 1],
      [278, 4, height],
      [279, 4, pageBytes],
    ];
    view.setUint16(at, entries, true);
    tags.forEach(([tag, type, value], i) => {
      const e = at + 2 + i * 12;
      view.setUint16(e, tag, true);
      view.setUint16(e + 2, type, true);
      view.setUint32(e + 4, 1, true);
      if (type === 3) view.setUint16(e + 8, value, true);
      else view.setUint32(e + 8, value, true);
    });
    const next = p < pages.length - 1 ? dataAt + pageBytes : 0;
    view.setUint32(at + 2 + entries * 12, next, true);
    for (let i = 0; i < page.length; i++) view.setUint16(dataAt + i * 2, page[i]!, true);
    at = dataAt + pageBytes;
  });
  return out;
}

/**
 * A PNG whose IHDR claims `width` x `height`, with an empty IDAT and IEND: structurally complete, so the decoder
 * must refuse it from the header (too large) before inflating anything. Tiny on disk.
 */
export function oversizePng(width: number, height: number): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, data.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(data, 8);
    view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit grey
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', new Uint8Array(0)),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
