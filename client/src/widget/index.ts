import { QuorumSegmenter } from './element';

/**
 * quorum-widget.js: one script tag defines <quorum-segmenter>. Defining twice (two copies of the script on one page)
 * is a no-op rather than an error.
 */
if (!customElements.get('quorum-segmenter')) customElements.define('quorum-segmenter', QuorumSegmenter);

export type { QuorumErrorDetail, QuorumProgressDetail, QuorumResultDetail } from './element';
export { QuorumSegmenter };

declare global {
  interface HTMLElementTagNameMap {
    'quorum-segmenter': QuorumSegmenter;
  }
}
