/**
 * The `nn` namespace: Module and its parameter/buffer marks, the layers, `init`
 * (torch.nn.init) and `functional` (torch.nn.functional, also as `F`).
 *
 * ```ts
 * import { Generator, randn, nn } from 'genlab';
 *
 * const rng = new Generator(0);
 * const head = new nn.Linear(64, 2, { rng });
 * nn.init.zeros(head.weight);                                  // in place
 * const net = new nn.Sequential(new nn.Linear(2, 64, { rng }), new nn.SiLU(), head);
 * const y = net.forward(randn([8, 2], { rng }));              // [8, 2]
 * ```
 */
export { Module, parameter, buffer, isParameter, type StateDict } from './module.ts';
export * from './layers/index.ts';
export * as init from './init.ts';
export * as functional from './functional.ts';
export * as F from './functional.ts';
