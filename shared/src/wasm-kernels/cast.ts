import type { CastAttrs, CastInputs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * `Cast` to the dtype the tensor already has shares its data (see identity.ts) instead of copying it. Training
 * runs such casts on whole activations in every ReLU gradient (`cast(step(x), 'float32')`: about 1% of a U-Net
 * step); every real conversion goes to the original kernel.
 */
export function makeCastConfig(original: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: CastInputs; backend: BackendWasm; attrs: CastAttrs }): TensorInfo => {
    const x = args.inputs.x as TensorInfo;
    if (x.dtype !== args.attrs.dtype || x.dtype === 'string')
      return original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
  return { ...original, kernelFunc: kernelFunc as unknown as KernelFunc };
}
