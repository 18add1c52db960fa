/** Tensor operations composed from the primitives: padding, rolling, einsum. */
import { type Tensor, concat, embedSlice, onesLike } from './tensor.ts';
import { normAxis, shapeStr } from './shape.ts';

/**
 * Constant padding in torch.nn.functional.pad's order: `pads` = [lastLeft, lastRight,
 * secondLastLeft, secondLastRight, …]. Negative pads crop.
 */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor {
  if (pads.length % 2 !== 0 || pads.length / 2 > x.ndim) {
    throw new Error(`pad: expected an even number of pads for at most ${x.ndim} dimensions, got [${pads.join(', ')}]`);
  }
  let y = x;
  // crop first (negative pads)
  for (let i = 0; i < pads.length / 2; i++) {
    const d = x.ndim - 1 - i;
    const l = pads[2 * i]!, r = pads[2 * i + 1]!;
    if (l < 0 || r < 0) y = y.slice(d, Math.max(0, -l), y.shape[d]! - Math.max(0, -r));
  }
  const starts = y.shape.map(() => 0);
  const shape = [...y.shape];
  for (let i = 0; i < pads.length / 2; i++) {
    const d = x.ndim - 1 - i;
    const l = Math.max(0, pads[2 * i]!), r = Math.max(0, pads[2 * i + 1]!);
    starts[d] = l;
    shape[d] = y.shape[d]! + l + r;
  }
  if (shape.every((s, i) => s === y.shape[i])) return y;
  const steps = shape.map(() => 1);
  const padded = embedSlice(y, shape, starts, steps);
  if (value === 0) return padded;
  const inside = embedSlice(onesLike(y), shape, starts, steps);
  return padded.add(inside.rsub(1).mul(value));
}

/** Roll elements along `axis` by `shift` (torch.roll). */
export function roll(x: Tensor, shift: number, axis: number): Tensor {
  const a = normAxis(axis, x.ndim, 'roll');
  const n = x.shape[a]!;
  if (n === 0) return x;
  const s = ((shift % n) + n) % n;
  if (s === 0) return x;
  return concat([x.slice(a, n - s), x.slice(a, 0, n - s)], a);
}

/**
 * A small einsum: explicit (`ij,jk->ik`) or implicit (`ij,jk`) form, any number of operands,
 * no repeated index within one operand and no ellipsis. Pairs are contracted by batched matmul.
 */
export function einsum(equation: string, ...operands: Tensor[]): Tensor {
  const eq = equation.replace(/\s+/g, '');
  const [lhs, rhsGiven] = eq.split('->') as [string, string | undefined];
  const inputs = lhs.split(',');
  if (inputs.length !== operands.length) throw new Error(`einsum: '${equation}' names ${inputs.length} operands, got ${operands.length}`);
  const sizes = new Map<string, number>();
  inputs.forEach((spec, k) => {
    if (!/^[a-zA-Z]*$/.test(spec)) throw new Error(`einsum: unsupported subscript '${spec}' (letters only; no ellipsis)`);
    if (new Set(spec).size !== spec.length) throw new Error(`einsum: repeated index in '${spec}' is not supported`);
    const t = operands[k]!;
    if (spec.length !== t.ndim) throw new Error(`einsum: operand ${k} has shape ${shapeStr(t.shape)} but subscript '${spec}'`);
    [...spec].forEach((c, i) => {
      const d = t.shape[i]!;
      const prev = sizes.get(c);
      if (prev !== undefined && prev !== d && prev !== 1 && d !== 1) throw new Error(`einsum: index '${c}' has sizes ${prev} and ${d}`);
      sizes.set(c, prev === undefined || prev === 1 ? d : prev);
    });
  });
  const counts = new Map<string, number>();
  for (const c of inputs.join('')) counts.set(c, (counts.get(c) ?? 0) + 1);
  const rhs = rhsGiven ?? [...counts.keys()].filter((c) => counts.get(c) === 1).sort().join('');
  for (const c of rhs) if (!sizes.has(c)) throw new Error(`einsum: output index '${c}' does not appear in the inputs`);

  let cur = operands[0]!, curSpec = inputs[0]!;
  for (let k = 1; k < operands.length; k++) {
    const later = new Set([...inputs.slice(k + 1).join(''), ...rhs]);
    [cur, curSpec] = contractPair(cur, curSpec, operands[k]!, inputs[k]!, later);
  }
  // sum what is left over and order as the output
  const extra = [...curSpec].filter((c) => !rhs.includes(c));
  if (extra.length) {
    cur = cur.sum(extra.map((c) => curSpec.indexOf(c)));
    curSpec = [...curSpec].filter((c) => rhs.includes(c)).join('');
  }
  return cur.permute([...rhs].map((c) => curSpec.indexOf(c)));
}

function contractPair(a: Tensor, sa: string, b: Tensor, sb: string, keep: Set<string>): [Tensor, string] {
  // indices only in one operand and not needed later are summed first
  const sumOwn = (t: Tensor, s: string, other: string): [Tensor, string] => {
    const gone = [...s].filter((c) => !other.includes(c) && !keep.has(c));
    if (!gone.length) return [t, s];
    return [t.sum(gone.map((c) => s.indexOf(c))), [...s].filter((c) => !gone.includes(c)).join('')];
  };
  [a, sa] = sumOwn(a, sa, sb);
  [b, sb] = sumOwn(b, sb, sa);
  const batch = [...sa].filter((c) => sb.includes(c) && keep.has(c));
  const contr = [...sa].filter((c) => sb.includes(c) && !keep.has(c));
  const left = [...sa].filter((c) => !sb.includes(c));
  const right = [...sb].filter((c) => !sa.includes(c));
  const dim = (t: Tensor, s: string, c: string) => t.shape[s.indexOf(c)]!;
  const size = (cs: string[], t: Tensor, s: string) => cs.reduce((p, c) => p * dim(t, s, c), 1);
  const A = a.permute([...batch, ...left, ...contr].map((c) => sa.indexOf(c)));
  const B = b.permute([...batch, ...contr, ...right].map((c) => sb.indexOf(c)));
  const bA = batch.map((c) => dim(a, sa, c)), bB = batch.map((c) => dim(b, sb, c));
  const A3 = A.reshape([...bA, size(left, a, sa), size(contr, a, sa)]);
  const B3 = B.reshape([...bB, size(contr, b, sb), size(right, b, sb)]);
  const bOut = bA.map((d, i) => Math.max(d, bB[i]!));
  const out = A3.matmul(B3).reshape([...bOut, ...left.map((c) => dim(a, sa, c)), ...right.map((c) => dim(b, sb, c))]);
  return [out, [...batch, ...left, ...right].join('')];
}


