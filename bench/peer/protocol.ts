/**
 * What the Node side and the page (page.ts) exchange through `page.evaluate`: the request names every URL so the
 * page hard-codes no server layout, and the result is plain JSON.
 */

/** Name of the page's global entry point. */
export const PEER_GLOBAL = 'quorumPeer';

export interface PeerPageRequest {
  modelJsonUrl: string;
  /** Weight shard URLs in model.json's order. */
  shardUrls: string[];
  onnxUrl: string;
  /** URL prefix (ending in '/') serving onnxruntime-web's dist/ files (its .wasm and .mjs). */
  ortWasmPrefix: string;
  /** Input side in pixels. */
  size: number;
  /** Images per forward (the batch dimension): distinct deterministic images, blobImage seeds 1..batch. */
  batch: number;
  /** Timed runs per runtime, interleaved. */
  runs: number;
  /** Untimed runs per runtime first. */
  warmup: number;
}

export interface PeerPageResult {
  /** Every timed run in ms, in order. */
  tfjsTimes: number[];
  ortTimes: number[];
  maxAbsDiff: number;
  tfjsDetail: string;
  ortDetail: string;
  crossOriginIsolated: boolean;
}

export type PeerPageEntry = (request: PeerPageRequest) => Promise<PeerPageResult>;
