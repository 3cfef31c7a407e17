/**
 * The widget's stylesheet, inside its shadow root. `all: initial` on the host stops the page's inherited styles
 * (fonts, colours, line height) from reaching in; nothing here can reach out.
 */
export const WIDGET_CSS = `
:host { all: initial; display: block; font: 14px/1.4 system-ui, sans-serif; color: #222; max-width: 40rem; }
:host([hidden]) { display: none; }
.drop { display: block; border: 2px dashed #999; border-radius: 6px; padding: 1rem; text-align: center; cursor: pointer; }
.drop input { position: absolute; opacity: 0; width: 1px; height: 1px; }
.status { margin: 0.4rem 0; color: #555; min-height: 1.4em; }
progress { width: 100%; }
.error { color: #c62828; font-weight: 600; margin: 0.4rem 0; }
canvas { display: block; width: 100%; image-rendering: pixelated; background: #000; margin-top: 0.4rem; }
canvas[hidden], .count[hidden], .error[hidden], progress[hidden] { display: none; }
.count { margin: 0.4rem 0; font-weight: 600; }
`;
