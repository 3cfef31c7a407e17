// The CommonJS codecs, imported from a .js file on purpose (see vendor.d.ts for why).
// jpeg-js: the decoder module alone, so that browser bundles do not carry its encoder.
import decodeJpeg from 'jpeg-js/lib/decoder.js';
import UTIF from 'utif2';

export { decodeJpeg, UTIF };
