"""PyTorch twin of scripts/vae-mnist.ts: the same model, objective, budget and evaluation.

    /usr/bin/python3 scripts/twins/vae_mnist_torch.py [--models vae,iwae] [--epochs 3] [--test 200]
        [--k 5] [--eval-k 5000] [--chunk 500] [--seed 0] [--data ../shared/data/mnist]

784-200-200-50 tanh encoder (mean and log-variance heads in one Linear), 50-200-200-784 tanh
decoder with Bernoulli logits; Adam lr 1e-3, batch 100; PyTorch's default Linear init.
Training images are binarised dynamically (a Bernoulli draw per batch); the test set once with
torch.Generator seeded 123 (torch's own stream: the draw differs from genlab's, the convention is
the same). NLL = -IWAE_{k=5000} over the first `test` test images, in chunks of 500 draws.
"""
import argparse, gzip, math, struct, time, json
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument('--models', default='vae,iwae')
p.add_argument('--epochs', type=int, default=3)
p.add_argument('--batch', type=int, default=100)
p.add_argument('--lr', type=float, default=1e-3)
p.add_argument('--k', type=int, default=5)
p.add_argument('--test', type=int, default=200)
p.add_argument('--eval-k', type=int, default=5000)
p.add_argument('--chunk', type=int, default=500)
p.add_argument('--seed', type=int, default=0)
p.add_argument('--data', default='../shared/data/mnist')
p.add_argument('--threads', type=int, default=2)  # 1 on a loaded machine: OpenMP spinning costs more than it gains
a = p.parse_args()
torch.set_num_threads(a.threads)


def idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    n, = struct.unpack('>I', data[4:8])
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, 784).astype(np.float32) / 255.0


train = torch.from_numpy(idx(f'{a.data}/train-images-idx3-ubyte.gz'))
test = torch.from_numpy(idx(f'{a.data}/t10k-images-idx3-ubyte.gz'))
test_bin = torch.bernoulli(test, generator=torch.Generator().manual_seed(123))
LOG2PI = math.log(2 * math.pi)


class VAE(nn.Module):
    def __init__(self, d=784, h=(200, 200), l=50):
        super().__init__()
        enc, dec, sizes = [], [], [d, *h]
        for i in range(len(h)):
            enc += [nn.Linear(sizes[i], sizes[i + 1]), nn.Tanh()]
        self.encoder = nn.Sequential(*enc, nn.Linear(sizes[-1], 2 * l))
        rs = [l, *reversed(h)]
        for i in range(len(h)):
            dec += [nn.Linear(rs[i], rs[i + 1]), nn.Tanh()]
        self.decoder = nn.Sequential(*dec, nn.Linear(rs[-1], d))
        self.l = l

    def encode(self, x):
        h = self.encoder(x)
        return h[:, :self.l], h[:, self.l:]

    def log_weights(self, x, k, q=None):
        mu, lv = q if q is not None else self.encode(x)
        z = mu + (0.5 * lv).exp() * torch.randn(k, *mu.shape)
        logits = self.decoder(z)
        log_px = -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction='none').sum(-1)
        log_pz = (-0.5 * (z ** 2 + LOG2PI)).sum(-1)
        log_qz = (-0.5 * ((z - mu) ** 2 / lv.exp() + lv + LOG2PI)).sum(-1)
        return log_px + log_pz - log_qz

    def elbo(self, x):
        mu, lv = self.encode(x)
        z = mu + (0.5 * lv).exp() * torch.randn_like(mu)
        log_px = -F.binary_cross_entropy_with_logits(self.decoder(z), x, reduction='none').sum(-1)
        kl = -0.5 * (1 + lv - mu ** 2 - lv.exp()).sum(-1)
        return log_px - kl

    def iwae(self, x, k, chunk=None):
        if chunk is None or chunk >= k:
            return torch.logsumexp(self.log_weights(x, k), 0) - math.log(k)
        q = self.encode(x)
        parts = [torch.logsumexp(self.log_weights(x, min(chunk, k - s), q), 0) for s in range(0, k, chunk)]
        return torch.logsumexp(torch.stack(parts), 0) - math.log(k)


rows = []
for name in a.models.split(','):
    torch.manual_seed(a.seed)
    vae = VAE()
    opt = torch.optim.Adam(vae.parameters(), lr=a.lr)
    t0 = time.time()
    steps = train.shape[0] // a.batch
    for epoch in range(1, a.epochs + 1):
        perm = torch.randperm(train.shape[0])
        losses = []
        for b in range(steps):
            x = torch.bernoulli(train[perm[b * a.batch:(b + 1) * a.batch]])
            bound = vae.iwae(x, a.k) if name == 'iwae' else vae.elbo(x)
            loss = -bound.mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        print(f'  {name} epoch {epoch}: train -bound {np.mean(losses):.2f} ({time.time() - t0:.0f} s)', flush=True)
    secs = time.time() - t0
    with torch.no_grad():
        test_elbo = torch.cat([vae.elbo(test_bin[i:i + 1000]) for i in range(0, 10000, 1000)]).mean().item()
        t1 = time.time()
        nll = torch.cat([-vae.iwae(test_bin[i:i + 10], a.eval_k, a.chunk) for i in range(0, a.test, 10)]).numpy()
    row = dict(model=f'iwae (k={a.k})' if name == 'iwae' else 'vae', epochs=a.epochs, train_bound=-float(np.mean(losses)),
               test_elbo=test_elbo, test_nll=float(nll.mean()), test_nll_se=float(nll.std(ddof=1) / math.sqrt(len(nll))),
               seconds=secs, eval_seconds=time.time() - t1)
    rows.append(row)
    print(f"{row['model']}: test ELBO {test_elbo:.2f}, test NLL (IWAE k={a.eval_k}, {a.test} images) {row['test_nll']:.2f} ± {row['test_nll_se']:.2f}", flush=True)
print(f'\n| model (PyTorch {torch.__version__}) | epochs | train bound | test ELBO | test NLL (IWAE k={a.eval_k}, {a.test} images) | train s | eval s |')
print('|---|---|---|---|---|---|---|')
for r in rows:
    print(f"| {r['model']} | {r['epochs']} | {r['train_bound']:.2f} | {r['test_elbo']:.2f} | {r['test_nll']:.2f} ± {r['test_nll_se']:.2f} | {r['seconds']:.0f} | {r['eval_seconds']:.0f} |")
