"""PyTorch twin of scripts/ar-mnist.ts for FVSBN, NADE, MADE, the Gated PixelCNN and the Row LSTM
PixelRNN on binarised MNIST.

Same architectures, initialisation rules, optimiser, schedule, budget and evaluation bits as the
genlab script (not the same random numbers: the seed policy is the same, torch's generator is not
genlab's):
  fvsbn     logits = (W * strictly-lower-triangular mask) x + b, W and b start at zero
            (src/models/autoregressive/fvsbn.ts).
  nade      H = 500; a_d = c + sum_{j<d} x_j W[:, j] as an exclusive cumulative sum, logit_d =
            b_d + V_d . sigmoid(a_d); W ~ U(+-1/sqrt(D)), V ~ U(+-1/sqrt(H)), b = c = 0
            (src/models/autoregressive/nade.ts).
  made      1 hidden layer of 500 ReLU units, natural ordering, hidden degrees drawn uniformly in
            {1..D-1} (Germain et al. 2015), one logit per pixel; PyTorch Linear init.
  pixelcnn  Gated PixelCNN (van den Oord et al. 2016b): 1 + 5 gated layers of 32 channels, 3x3
            (vertical (2x3) and horizontal (1x2, type A in the first layer) stacks, down-shifted
            vertical-to-horizontal 1x1 link, residual horizontal stack from layer 2), head
            ReLU-1x1(32)-ReLU-1x1(1); every conv initialised U(+-1/sqrt(in * unmasked taps)).
  rowlstm   PixelRNN, Row LSTM (van den Oord et al. 2016a, Sec. 3.1; src/models/autoregressive/
            pixelrnn.ts): 7x7 type-A conv to 32 channels, 2 Row LSTM layers (input-to-state 1x3
            type B to 4h = 128 channels for all rows at once, state-to-state 1x3 on the previous
            row's h without bias, gates [o f i g], c = sig(f) c + sig(i) tanh(g), h = sig(o) tanh(c),
            residual x + 1x1(h)), head ReLU-1x1(32)-ReLU-1x1(1); same conv init rule.
Training: Adam, lr cosine-decayed from lr to 0.1 lr, gradient norm clipped at 100, dynamic
binarisation (a Bernoulli draw per batch). Test NLL in nats on the test set binarised once by the
genlab script (runs/ar-mnist/test-binarized.u8, Generator(123)).

    /usr/bin/python3 scripts/twins/ar_mnist_torch.py [--models fvsbn,nade,made,pixelcnn,rowlstm] [--threads 2]

Results are merged into --out (one entry per model, the models not run are kept).
"""
import argparse
import gzip
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument('--threads', type=int, default=2)
ap.add_argument('--models', default='fvsbn,nade,made,pixelcnn,rowlstm')
ap.add_argument('--seed', type=int, default=0)
ap.add_argument('--data', default='../shared/data/mnist')
ap.add_argument('--bits', default='runs/ar-mnist/test-binarized.u8')
ap.add_argument('--out', default='runs/ar-mnist/torch-results.json')
args = ap.parse_args()
torch.set_num_threads(args.threads)  # 1 on a shared, oversubscribed machine (OpenMP spin-waits otherwise)

BUDGET = {  # the genlab script's defaults
    'fvsbn': dict(steps=1500, batch=64, lr=1e-2, test=10000),
    'nade': dict(steps=800, batch=32, lr=2e-3, test=2000),
    'made': dict(steps=1500, batch=64, lr=1e-3, test=10000),
    'pixelcnn': dict(steps=500, batch=16, lr=2e-3, test=2000),
    'rowlstm': dict(steps=400, batch=16, lr=2e-3, test=2000),
}
D = 784


def load_images(path):
    with gzip.open(path, 'rb') as f:
        raw = f.read()
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255.0


train = torch.from_numpy(load_images(os.path.join(args.data, 'train-images-idx3-ubyte.gz')))
test_all = torch.from_numpy(np.fromfile(args.bits, dtype=np.uint8).reshape(-1, 784).astype(np.float32))


class MaskedLinear(nn.Linear):
    def __init__(self, i, o, mask):
        super().__init__(i, o)
        self.register_buffer('mask', mask)

    def forward(self, x):
        return F.linear(x, self.weight * self.mask, self.bias)


class MADE(nn.Module):
    def __init__(self, D, H, g):
        super().__init__()
        m0 = torch.arange(1, D + 1)
        m1 = torch.randint(1, D, (H,), generator=g)
        self.l1 = MaskedLinear(D, H, (m1[:, None] >= m0[None, :]).float())
        self.l2 = MaskedLinear(H, D, (m0[:, None] > m1[None, :]).float())

    def forward(self, x):
        return self.l2(F.relu(self.l1(x)))

    def log_prob(self, x):
        return -F.binary_cross_entropy_with_logits(self(x), x, reduction='none').sum(1)


class FVSBN(nn.Module):
    def __init__(self, D):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(D, D))
        self.bias = nn.Parameter(torch.zeros(D))
        self.register_buffer('mask', torch.tril(torch.ones(D, D), -1))

    def log_prob(self, x):
        logits = F.linear(x, self.weight * self.mask, self.bias)
        return -F.binary_cross_entropy_with_logits(logits, x, reduction='none').sum(1)


class NADE(nn.Module):
    def __init__(self, D, H):
        super().__init__()
        s, t = 1 / math.sqrt(D), 1 / math.sqrt(H)
        self.W = nn.Parameter(torch.empty(H, D).uniform_(-s, s))
        self.c = nn.Parameter(torch.zeros(H))
        self.V = nn.Parameter(torch.empty(D, H).uniform_(-t, t))
        self.b = nn.Parameter(torch.zeros(D))

    def log_prob(self, x):
        contrib = x[:, :, None] * self.W.t()[None]            # [N, D, H]: x_d W[:, d]
        a = contrib.cumsum(1) - contrib + self.c              # a_d = c + sum_{j<d} x_j W[:, j]
        logits = (torch.sigmoid(a) * self.V[None]).sum(2) + self.b
        return -F.binary_cross_entropy_with_logits(logits, x, reduction='none').sum(1)


class MConv(nn.Module):
    """Conv with a spatial mask [kh, kw] after explicit padding (top, bottom, left, right)."""

    def __init__(self, cin, cout, kh, kw, mask, pads, bias=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, (kh, kw), bias=bias)
        m = torch.ones(kh, kw) if mask is None else mask
        bound = 1 / math.sqrt(max(1.0, cin * float(m.sum())))
        nn.init.uniform_(self.conv.weight, -bound, bound)
        if bias:
            nn.init.uniform_(self.conv.bias, -bound, bound)
        self.register_buffer('mask', m[None, None])
        self.pads = pads

    def forward(self, x):
        t, b, l, r = self.pads
        return F.conv2d(F.pad(x, (l, r, t, b)), self.conv.weight * self.mask, self.conv.bias)


def gate(x):
    a, b = x.chunk(2, 1)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    def __init__(self, cin, c, k, first):
        super().__init__()
        p = k // 2
        self.v = MConv(cin, 2 * c, p + 1, k, None, (p, 0, p, p))
        hm = torch.ones(1, p + 1)
        if first:
            hm[0, p] = 0
        self.h = MConv(cin, 2 * c, 1, p + 1, hm, (0, 0, p, 0))
        self.v2h = MConv(2 * c, 2 * c, 1, 1, None, (0, 0, 0, 0))
        self.hout = MConv(c, c, 1, 1, None, (0, 0, 0, 0))
        self.residual = (not first) and cin == c

    def forward(self, v, h):
        vp = self.v(v)
        shifted = F.pad(vp, (0, 0, 1, 0))[:, :, :-1]
        hp = self.h(h) + self.v2h(shifted)
        hn = self.hout(gate(hp))
        return gate(vp), (h + hn if self.residual else hn)


class GatedPixelCNN(nn.Module):
    def __init__(self, hidden=32, layers=5, k=3):
        super().__init__()
        self.layers = nn.ModuleList([GatedLayer(1, hidden, k, True)] + [GatedLayer(hidden, hidden, k, False) for _ in range(layers)])
        self.head1 = MConv(hidden, hidden, 1, 1, None, (0, 0, 0, 0))
        self.head2 = MConv(hidden, 1, 1, 1, None, (0, 0, 0, 0))

    def forward(self, x):
        v = h = x
        for layer in self.layers:
            v, h = layer(v, h)
        return self.head2(F.relu(self.head1(F.relu(h))))

    def log_prob(self, x):
        x = x.view(-1, 1, 28, 28)
        return -F.binary_cross_entropy_with_logits(self(x), x, reduction='none').flatten(1).sum(1)


def raster_mask(kh, kw, typ):
    """1 on the rows above the centre, the centre row left of the centre, and (type B) the centre."""
    m = torch.zeros(kh, kw)
    ch, cw = kh // 2, kw // 2
    for r in range(kh):
        for c in range(kw):
            m[r, c] = float(r < ch or (r == ch and (c < cw or (c == cw and typ == 'B'))))
    return m


class RowLSTMLayer(nn.Module):
    def __init__(self, c, hid, k=3):
        super().__init__()
        p = k // 2
        self.input_to_state = MConv(c, 4 * hid, 1, k, raster_mask(1, k, 'B'), (0, 0, p, p))
        self.state_to_state = MConv(hid, 4 * hid, 1, k, None, (0, 0, p, p), bias=False)
        self.out = MConv(hid, c, 1, 1, None, (0, 0, 0, 0))
        self.hid = hid

    def forward(self, x):
        n, _, rows, w = x.shape
        isx = self.input_to_state(x)
        h = c = x.new_zeros(n, self.hid, 1, w)
        hs = []
        for i in range(rows):
            o, f, ig, g = (isx[:, :, i:i + 1] + self.state_to_state(h)).chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(ig) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            hs.append(h)
        return x + self.out(torch.cat(hs, 2))


class RowLSTMPixelRNN(nn.Module):
    def __init__(self, hidden=32, layers=2, k1=7, k=3):
        super().__init__()
        p1 = k1 // 2
        self.first = MConv(1, hidden, k1, k1, raster_mask(k1, k1, 'A'), (p1, p1, p1, p1))
        self.layers = nn.ModuleList([RowLSTMLayer(hidden, hidden, k) for _ in range(layers)])
        self.head1 = MConv(hidden, hidden, 1, 1, None, (0, 0, 0, 0))
        self.head2 = MConv(hidden, 1, 1, 1, None, (0, 0, 0, 0))

    def forward(self, x):
        h = self.first(x)
        for layer in self.layers:
            h = layer(h)
        return self.head2(F.relu(self.head1(F.relu(h))))

    def log_prob(self, x):
        x = x.view(-1, 1, 28, 28)
        return -F.binary_cross_entropy_with_logits(self(x), x, reduction='none').flatten(1).sum(1)


def build(name, g):
    if name == 'fvsbn':
        return FVSBN(D)
    if name == 'nade':
        return NADE(D, 500)
    if name == 'made':
        return MADE(D, 500, g)
    if name == 'pixelcnn':
        return GatedPixelCNN()
    if name == 'rowlstm':
        return RowLSTMPixelRNN()
    raise SystemExit(f'unknown model {name!r} (fvsbn, nade, made, pixelcnn, rowlstm)')


results = {}
if os.path.exists(args.out):
    with open(args.out) as f:
        results = json.load(f)
for name in args.models.split(','):
    torch.manual_seed(args.seed)
    g = torch.Generator().manual_seed(args.seed)
    net = build(name, g)
    b = BUDGET[name]
    opt = torch.optim.Adam(net.parameters(), lr=b['lr'])
    params = sum(p.numel() for p in net.parameters())
    print(f"{name}: {params} parameters, {b['steps']} steps x {b['batch']}, lr {b['lr']}", flush=True)
    t0 = time.time()
    perm, pos, losses = torch.randperm(len(train), generator=g), 0, []
    for step in range(1, b['steps'] + 1):
        for grp in opt.param_groups:
            grp['lr'] = b['lr'] * (0.55 + 0.45 * math.cos(math.pi * (step - 1) / b['steps']))
        if pos + b['batch'] > len(train):
            perm, pos = torch.randperm(len(train), generator=g), 0
        p = train[perm[pos:pos + b['batch']]]
        pos += b['batch']
        x = torch.bernoulli(p, generator=g)
        loss = -net.log_prob(x).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 100)
        opt.step()
        losses.append(loss.item())
        if step % max(1, b['steps'] // 20) == 0:
            print(f"  step {step}: train NLL {np.mean(losses[-max(1, b['steps'] // 10):]):.2f} ({time.time() - t0:.0f} s)", flush=True)
    secs = time.time() - t0
    test_bits = test_all[: b['test']]
    with torch.no_grad():
        nll = torch.cat([-net.log_prob(test_bits[i:i + 100]) for i in range(0, len(test_bits), 100)])
    mean, se = nll.mean().item(), (nll.std() / math.sqrt(len(nll))).item()
    results[name] = dict(testImages=b['test'], testNll=mean, testNllSe=se, steps=b['steps'], batch=b['batch'], lr=b['lr'], seconds=secs, params=params)
    print(f"{name}: test NLL {mean:.2f} +- {se:.2f} nats after {b['steps']} steps x {b['batch']} ({secs:.0f} s)", flush=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(results, f, indent=1)
