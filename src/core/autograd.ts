/** Grad mode: whether ops record the graph. `noGrad(fn)` as torch.no_grad. */
let enabled = true;

export function isGradEnabled(): boolean {
  return enabled;
}

/** Run `fn` without recording the autograd graph. */
export function noGrad<T>(fn: () => T): T {
  const prev = enabled;
  enabled = false;
  try {
    return fn();
  } finally {
    enabled = prev;
  }
}

/** Run `fn` with grad mode set explicitly (used by backward with createGraph). */
export function withGradMode<T>(on: boolean, fn: () => T): T {
  const prev = enabled;
  enabled = on;
  try {
    return fn();
  } finally {
    enabled = prev;
  }
}

/** Run `fn` with gradients recorded even inside noGrad (torch.enable_grad): guidance inside a sampler. */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}
