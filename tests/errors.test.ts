/**
 * Bad inputs fail early with messages that name the op and what was wrong with both operands:
 * shapes for shape mismatches, dtypes for dtype mismatches, the axis and rank for a bad axis.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type DType, tensor, zeros, ones, concat, stack, where, einsum, pad, roll, linalg, oneHot, autogradGrad, nn, getBackend } from '../src/index.ts';
import { CpuBackend } from '../src/backends/cpu/index.ts';

const F = nn.functional;

const i32 = (shape: number[]) => zeros(shape, { dtype: 'int32' });
/** The message must match every pattern (each a literal substring unless a RegExp). */
function throwsWith(fn: () => unknown, ...parts: (string | RegExp)[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Error, 'throws an Error');
    for (const p of parts) {
      if (typeof p === 'string') assert.ok(e.message.includes(p), `message "${e.message}" should contain "${p}"`);
      else assert.match(e.message, p);
    }
    return true;
  });
}

test('broadcast mismatches name the op and both shapes', () => {
  throwsWith(() => zeros([2, 3]).add(zeros([4])), 'add:', '[2, 3]', '[4]');
  throwsWith(() => zeros([2, 3]).mul(zeros([3, 2])), 'mul:', '[2, 3]', '[3, 2]');
  throwsWith(() => zeros([2, 3]).sub(zeros([2, 2])), 'sub:', '[2, 3]', '[2, 2]');
  throwsWith(() => zeros([5]).pow(zeros([4])), 'pow:', '[5]', '[4]');
  throwsWith(() => zeros([2, 3]).maximum(zeros([3, 3])), 'maximum:', '[2, 3]', '[3, 3]');
  throwsWith(() => zeros([3]).lt(zeros([2])), 'lt:', '[3]', '[2]');
  throwsWith(() => where(tensor([true, false]), zeros([3]), 0), 'where:', '[2]', '[3]');
  throwsWith(() => zeros([2, 3]).expand(4, 3), 'expand:', '[2, 3]', '[4, 3]');
});

test('matmul: inner dimensions, batch dimensions, rank, dtype', () => {
  throwsWith(() => zeros([2, 3]).matmul(zeros([4, 5])), 'matmul:', '[2, 3]', '[4, 5]', 'not aligned');
  throwsWith(() => zeros([3]).matmul(zeros([4])), 'matmul:', '[3]', '[4]');
  throwsWith(() => zeros([2, 2, 3]).matmul(zeros([3, 3, 5])), 'matmul:', '[2, 2, 3]', '[3, 3, 5]');
  throwsWith(() => zeros([]).matmul(zeros([3])), 'matmul:', 'at least one dimension');
  throwsWith(() => i32([2, 2]).matmul(i32([2, 2])), 'matmul:', 'floating-point', 'int32');
  throwsWith(() => F.linear(zeros([4, 3]), zeros([5, 2])), 'matmul:', '[4, 3]', '[2, 5]');
  throwsWith(() => einsum('ij,jk->ik', zeros([2, 3]), zeros([4, 5])), 'einsum:', "'j'", '3', '4');
  throwsWith(() => einsum('ij,jk->ik', zeros([2, 3])), 'einsum:', '2 operands', 'got 1');
  throwsWith(() => einsum('ijk->i', zeros([2, 3])), 'einsum:', '[2, 3]', "'ijk'");
});

test('convolutions and pools: channels, rank, kernel size', () => {
  throwsWith(() => F.conv2d(zeros([1, 3, 5, 5]), zeros([4, 2, 3, 3])), 'conv2d:', '[1, 3, 5, 5]', '[4, 2, 3, 3]', 'channels');
  throwsWith(() => F.conv2d(zeros([1, 4, 5, 5]), zeros([4, 3, 3, 3]), null, { groups: 2 }), 'conv2d:', '[1, 4, 5, 5]', '[4, 3, 3, 3]', 'groups=2');
  throwsWith(() => F.conv2d(zeros([3, 5, 5]), zeros([4, 3, 3, 3])), 'conv2d:', '[3, 5, 5]', '[4, 3, 3, 3]');
  throwsWith(() => F.conv1d(zeros([1, 2, 5]), zeros([4, 3, 3])), 'conv1d:', '[1, 2, 5]', '[4, 3, 3]', '2 channels');
  throwsWith(() => F.conv2d(zeros([1, 3, 2, 2]), zeros([4, 3, 3, 3])), /kernel 3×3.*larger than the padded input 2×2/);
  throwsWith(() => F.convTranspose2d(zeros([1, 3, 5, 5]), zeros([4, 2, 3, 3])), 'convTranspose2d:', '[1, 3, 5, 5]', '[4, 2, 3, 3]');
  throwsWith(() => F.maxPool2d(zeros([4, 4]), 2), 'maxPool2d:', '[4, 4]');
  throwsWith(() => F.interpolate(zeros([2, 3]), { scaleFactor: 2 }), 'interpolate:', '[2, 3]');
});

test('reshape, view, concat, stack, split, permute, pad: sizes that do not fit', () => {
  throwsWith(() => zeros([2, 3]).reshape(4), 'reshape:', '[2, 3]', '[4]', '6 elements');
  throwsWith(() => zeros([2, 3]).reshape(4, -1), 'reshape:', '[2, 3]', '[4, -1]');
  throwsWith(() => zeros([2, 3]).reshape(-1, -1), 'reshape:', 'invalid shape');
  throwsWith(() => zeros([2, 3]).mT.view_(6), 'view:', '[3, 2]', 'not contiguous');
  throwsWith(() => concat([zeros([2, 3]), zeros([2, 4])], 0), 'concat:', '[2, 3]', '[2, 4]', 'axis 0');
  throwsWith(() => concat([zeros([2, 3]), zeros([2])], 1), 'concat:', '[2, 3]', '[2]');
  throwsWith(() => concat([]), 'concat:', 'at least one');
  throwsWith(() => stack([zeros([2, 3]), zeros([3, 2])]), 'stack:', '[2, 3]', '[3, 2]');
  throwsWith(() => zeros([5, 2]).split([2, 2], 0), 'split:', '[2, 2]', 'size 5');
  throwsWith(() => zeros([2, 3]).permute(0, 0), 'permute:', '[0, 0]', '[2, 3]');
  throwsWith(() => pad(zeros([2, 3]), [1]), 'pad:', '[1]');
  throwsWith(() => zeros([2, 3]).assign(zeros([3, 2])), 'assign:', '[2, 3]', '[3, 2]');
  throwsWith(() => tensor([1, 2, 3], { shape: [2, 2] }), 'tensor:', '3 values', '[2, 2]');
  throwsWith(() => tensor([[1, 2], [3]]), 'tensor:', 'ragged');
  throwsWith(() => zeros([-1, 2]), 'full:', '[-1, 2]');
});

test('indexing: float indices, indices that do not fit, out-of-range entries', () => {
  throwsWith(() => zeros([2, 3]).gather(1, zeros([2, 1])), 'gather:', 'int32', 'float32');
  throwsWith(() => zeros([2, 3]).gather(1, i32([3, 1])), 'gather:', '[3, 1]', '[2, 3]');
  throwsWith(() => zeros([2, 3]).gather(1, tensor([[5], [0]], { dtype: 'int32' })), 'gather:', 'index 5', 'size 3');
  throwsWith(() => zeros([2, 3]).scatterAdd(1, zeros([2, 1]), zeros([2, 1])), 'scatterAdd:', 'int32', 'float32');
  throwsWith(() => zeros([2, 3]).scatterAdd(1, i32([3, 1]), zeros([3, 1])), 'scatterAdd:', '[3, 1]', '[2, 3]');
  throwsWith(() => zeros([2, 3]).indexSelect(1, zeros([2])), 'indexSelect:', 'int32', 'float32');
  throwsWith(() => zeros([2, 3]).indexSelect(1, i32([2, 1])), 'indexSelect:', '1-D', '[2, 1]');
  throwsWith(() => zeros([2, 3]).index(5), 'index:', 'index 5', 'size 2');
  throwsWith(() => zeros([2, 3]).index(0, 0, 0), 'index:', '3 indices', '2 dimensions');
  throwsWith(() => oneHot(zeros([2]), 3), 'oneHot:', 'int32', 'float32');
  throwsWith(() => F.nllLoss(zeros([2, 3]), zeros([2])), 'nllLoss:', 'int32', 'float32');
  throwsWith(() => F.crossEntropy(zeros([2, 3]), i32([3])), '[2, 3]', '[3]');
});

test('autograd misuse: int/bool leaves, non-scalar backward, wrong seed, no graph', () => {
  throwsWith(() => tensor([1, 2], { dtype: 'int32', requiresGrad: true }), 'requiresGrad:', 'floating-point', 'int32');
  throwsWith(() => { tensor([true]).requiresGrad = true; }, 'requiresGrad:', 'bool');
  throwsWith(() => zeros([2, 3], { requiresGrad: true }).mul(2).backward(), 'backward:', 'non-scalar', '[2, 3]');
  throwsWith(() => zeros([2, 3], { requiresGrad: true }).mul(2).backward(zeros([3, 2])), 'backward:', '[3, 2]', '[2, 3]');
  throwsWith(() => zeros([2]).sum().backward(), 'backward:', 'does not require grad');
  throwsWith(() => { zeros([2], { requiresGrad: true }).mul(2).requiresGrad = false; }, 'requiresGrad', 'leaf');
  const x = ones([2], { requiresGrad: true }), unused = ones([2], { requiresGrad: true });
  throwsWith(() => autogradGrad(x.sum(), [unused]), 'grad:', 'input 0', 'allowUnused');
  throwsWith(() => { const p = ones([2], { requiresGrad: true }); p.assign(zeros([2])); }, 'assign:', 'noGrad');
});

test('invalid axes name the op, the axis and the rank', () => {
  const x = zeros([2, 3]);
  throwsWith(() => x.sum(2), 'sum:', 'axis 2', '2 dimensions');
  throwsWith(() => x.mean(-3), 'mean:', 'axis -3');
  throwsWith(() => x.max([0, 5]), 'max:', 'axis 5');
  throwsWith(() => x.softmax(-3), 'axis -3', '2 dimensions');
  throwsWith(() => x.cumsum(2), 'cumsum:', 'axis 2');
  throwsWith(() => x.argmax(3), 'argmax:', 'axis 3');
  throwsWith(() => x.transpose(0, 5), 'transpose:', 'axis 5');
  throwsWith(() => x.slice(3, 0, 1), 'slice:', 'axis 3');
  throwsWith(() => x.unsqueeze(4), 'unsqueeze:', 'axis 4');
  throwsWith(() => x.flip(2), 'flip:', 'axis 2');
  throwsWith(() => concat([x, x], 2), 'concat:', 'axis 2');
  throwsWith(() => roll(x, 1, 4), 'roll:', 'axis 4');
  throwsWith(() => x.slice(0, 0, 1, 0), 'slice:', 'step', '0');
  throwsWith(() => zeros([0, 2]).max(0), 'max:', 'empty', '[0, 2]');
});

test('linear algebra and normalisation shape checks', () => {
  throwsWith(() => linalg.inv(zeros([2, 3])), 'inverse:', '[2, 3]', 'square');
  throwsWith(() => linalg.det(zeros([3])), 'detSign:', '[3]');
  throwsWith(() => linalg.inv(i32([2, 2])), 'inverse:', 'int32');
  throwsWith(() => linalg.solve(zeros([3, 3]), zeros([2, 1])), 'solve:', '[3, 3]', '[2, 1]');
  throwsWith(() => F.layerNorm(zeros([2, 3]), [4]), 'layerNorm:', '[2, 3]', '[4]');
  throwsWith(() => F.groupNorm(zeros([2, 3, 4]), 2), 'groupNorm:', '[2, 3, 4]', '2 groups');
  throwsWith(() => F.mseLoss(zeros([2, 3]), zeros([3, 2])), 'mseLoss:', '[2, 3]', '[3, 2]');
  throwsWith(() => F.batchNorm(zeros([1, 3]), null, null, null, null, true), 'batchNorm:', '[1, 3]');
});

test('dtypes: unknown, bool arithmetic, float64 on a backend without it, mixed backends', () => {
  throwsWith(() => zeros([2]).cast('float16' as DType), 'cast:', 'float16');
  throwsWith(() => tensor([true]).neg(), 'neg:', 'bool');
  throwsWith(() => zeros([2]).itemSync(), 'item:', '[2]');
  throwsWith(() => zeros([2, 3]).assign(zeros([2, 3], { dtype: 'int32' })), 'assign:', 'float32', 'int32');

  // a backend that, like the GPU backends, stores no float64
  class NoFloat64 extends CpuBackend {
    override readonly name = 'no-float64';
    override readonly dtypes: readonly DType[] = ['float32', 'int32', 'bool'];
  }
  const b = new NoFloat64();
  throwsWith(() => tensor([1, 2], { dtype: 'float64', backend: b }), "backend 'no-float64'", 'float64');
  throwsWith(() => zeros([2], { dtype: 'float64', backend: b }), "backend 'no-float64'", 'float64');
  const x = tensor([1, 2], { backend: b });
  throwsWith(() => x.cast('float64'), 'cast:', "backend 'no-float64'", 'float64');
  assert.deepEqual([...x.mul(2).dataSync()], [2, 4], 'float32 still works there');
  // tensors on two backends do not mix silently
  throwsWith(() => x.add(tensor([1, 1])), 'add:', 'different backends', "'no-float64'", `'${getBackend().name}'`);
  throwsWith(() => concat([x, tensor([3])]), 'concat:', 'different backends');
  x.dispose();
});
