/**
 * The contour channel's training target, from instance labels: a foreground pixel is contour when its 3x3
 * neighbourhood holds background or another object. Between two touching nuclei that marks a band two pixels
 * wide (one on each side), which is what the contour-watershed split parts them along. Neighbours outside the
 * image are ignored, so an object cut by the image border gets no contour along it (that edge is not the
 * object's). In a binary mask touching objects share one label, so only their outer outline is marked.
 */
export function contourTarget(labels: Uint32Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const label = labels[i]!;
      if (label === 0) continue;
      let edge = false;
      for (let dy = -1; dy <= 1 && !edge; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          if (labels[ny * width + nx] !== label) {
            edge = true;
            break;
          }
        }
      }
      out[i] = edge ? 1 : 0;
    }
  }
  return out;
}
