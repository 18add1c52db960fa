/**
 * Registers TensorFlow.js's gradient functions. tfjs-core's Node bundle ships the ops without
 * their gradients (the umbrella @tensorflow/tfjs package adds them), and the file that registers
 * them exists only in tfjs-core's ES-module build, whose imports omit the `.js` extension that
 * Node requires. A resolve hook adds it (for that folder only). tfjs keeps its engine and its
 * registries on globalThis, so the gradients land in the registry that the Node bundle uses.
 */
import { register } from 'node:module';

const hook = `
export async function resolve(specifier, context, next) {
  if (specifier.startsWith('.') && !/\\.[cm]?js$/.test(specifier) && context.parentURL?.includes('/@tensorflow/tfjs-core/dist/')) {
    try { return await next(specifier + '.js', context); } catch { /* a folder: fall through */ }
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
