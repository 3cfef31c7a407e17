/// <reference lib="webworker" />
import * as Comlink from 'comlink';
import { Engine } from './engine';
import { defaultStore } from './store';

/**
 * The engine's module Web Worker: decoding, model loading and inference run here, off the page's main thread.
 * The page talks to it through comlink (see client.ts); nothing in here ever posts image data anywhere but back
 * to the page that sent it.
 */
let store: ReturnType<typeof defaultStore> | undefined;
Comlink.expose(new Engine(() => (store ??= defaultStore())));
