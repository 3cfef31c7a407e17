// The part of onnxruntime-web's API the peer page uses. onnxruntime-web is not a dependency (140 MB, installed only
// to run the peer), so this declaration lets `npm run typecheck` check the page on every machine; an ambient module
// declaration takes precedence over the package's own types when both exist.
declare module 'onnxruntime-web/wasm' {
  export class Tensor {
    constructor(type: 'float32', data: Float32Array, dims: readonly number[]);
    getData(): Promise<Float32Array | ArrayLike<number>>;
    dispose(): void;
  }
  export class InferenceSession {
    static create(
      model: Uint8Array,
      options?: {
        executionProviders?: string[];
        graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
      },
    ): Promise<InferenceSession>;
    readonly inputNames: readonly string[];
    readonly outputNames: readonly string[];
    run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>>;
    release(): Promise<void>;
  }
  export const env: {
    wasm: { numThreads?: number; proxy?: boolean; wasmPaths?: string };
    versions: { web: string };
  };
}
