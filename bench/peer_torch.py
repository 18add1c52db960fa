#!/usr/bin/python3
"""PyTorch on CPU as a benchmark peer: `/usr/bin/python3 bench/peer_torch.py --spec <json>`.

Prints one PeerResult line (see bench/common.ts, whose workloads, deterministic data, initial
weights and timing rule this file mirrors) after the marker `@@bench-result `. The runner
(bench/run.ts) starts it with Debian's OpenMP OpenBLAS on LD_LIBRARY_PATH where installed; this
script reports which BLAS torch really loaded (from /proc/self/maps, and OpenBLAS's own
openblas_get_config / openblas_get_corename when it is OpenBLAS), so the table can say so.
"""
import ctypes
import json
import math
import os
import re
import statistics
import sys
import time

try:
    import numpy as np
    import torch
except ImportError as e:  # reported as the peer's error
    np = torch = None
    IMPORT_ERROR = f'import failed: {e}'

MARK = '@@bench-result '
UNFINISHED = 'unfinished'  # common.ts UNFINISHED


def hash_uniform(n, seed, scale=1.0):
    """common.ts's hashUniform: murmur3 fmix32 of (i + seed·0x9E3779B9), top 24 bits → [−1, 1)."""
    h = (np.arange(n, dtype=np.uint64) + ((seed * 0x9E3779B9) & 0xFFFFFFFF)) & 0xFFFFFFFF
    h = h.astype(np.uint32)
    with np.errstate(over='ignore'):
        h ^= h >> np.uint32(16)
        h = h * np.uint32(0x85EBCA6B)
        h ^= h >> np.uint32(13)
        h = h * np.uint32(0xC2B2AE35)
        h ^= h >> np.uint32(16)
    v = ((h >> np.uint32(8)).astype(np.float64) / 16777216.0 * 2 - 1) * scale
    return v.astype(np.float32)


def hash_labels(n, seed, classes):
    u = hash_uniform(n, seed)
    return np.minimum(classes - 1, np.floor((u.astype(np.float64) + 1) / 2 * classes)).astype(np.int64)


SEED = {'gemmA': 11, 'gemmB': 12, 'mlpX': 21, 'mlpY': 22, 'convX': 31, 'convY': 32, 'params': 100,
        'unetX': 41, 'unetNoise': 42, 'unetSigma': 43, 'unetY': 44,
        'sampleX': 45, 'sampleNoise': 46, 'sampleSigma': 47, 'sampleY': 48}
CONV = [  # common.ts CONV_NET
    {'name': '0', 'cin': 1, 'cout': 32, 'stride': 1, 'padding': 1},
    {'name': '2', 'cin': 32, 'cout': 64, 'stride': 2, 'padding': 0},
    {'name': '4', 'cin': 64, 'cout': 64, 'stride': 2, 'padding': 0},
]
LINEAR = {'name': '7', 'in': 64 * 6 * 6, 'out': 10}


def layer_params(name, w_shape, fan_in, k):
    bound = 1 / math.sqrt(fan_in)
    size = int(np.prod(w_shape))
    return {
        f'{name}.weight': hash_uniform(size, SEED['params'] + 2 * k, bound).reshape(w_shape),
        f'{name}.bias': hash_uniform(w_shape[0], SEED['params'] + 2 * k + 1, bound),
    }


def fnv1a(s):
    """common.ts's fnv1a: FNV-1a, 32 bits, of the UTF-8 bytes."""
    h = 0x811C9DC5
    for b in s.encode():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


NORM_WEIGHT = re.compile(r'(^|\.)norm[^.]*\.weight$')


def unet_param(name, shape):
    """common.ts's unetParam: initial weights from the tensor's state-dict name."""
    size = int(np.prod(shape))
    u = hash_uniform(size, fnv1a(name))
    if len(shape) >= 2:
        return (u * np.float32(1 / math.sqrt(size / shape[0]))).reshape(shape)
    return (np.float32(1) + np.float32(0.1) * u) if NORM_WEIGHT.search(name) else np.float32(0.1) * u


def unet_data(u, which):
    """common.ts's unetData: x0, noise, sigma (float64 exp, rounded to float32) and classes."""
    cfg = u['net']
    n = u['batch'] if which == 'train' else u['sampleBatch']
    d = cfg['inChannels'] * cfg['resolution'] ** 2
    k = ('unetX', 'unetNoise', 'unetSigma', 'unetY') if which == 'train' else ('sampleX', 'sampleNoise', 'sampleSigma', 'sampleY')
    shape = (n, cfg['inChannels'], cfg['resolution'], cfg['resolution'])
    return (
        torch.from_numpy(hash_uniform(n * d, SEED[k[0]]).reshape(shape)),
        torch.from_numpy(hash_uniform(n * d, SEED[k[1]], math.sqrt(3)).reshape(shape)),
        torch.from_numpy(np.exp(u['pMean'] + u['pStd'] * math.sqrt(3) * hash_uniform(n, SEED[k[2]]).astype(np.float64)).astype(np.float32)),
        torch.from_numpy(hash_labels(n, SEED[k[3]], cfg['numClasses'])),
    )


def measure(call, t):
    """common.ts's measure()."""
    t1, spent, i = float('inf'), 0.0, 0
    while i < max(1, t['warmup']) and spent < t['budgetSeconds']:
        s, c = time.perf_counter(), time.process_time()
        call()
        t1 = time.perf_counter() - s
        cpu_per_wall = (time.process_time() - c) / t1
        spent += t1
        i += 1
    if t1 > 4 * t['slowSeconds']:
        return {'seconds': t1, 'minSeconds': t1, 'reps': 0, 'inner': 1, 'approx': True, 'cpuPerWall': cpu_per_wall}
    inner = max(1, math.ceil(t['minRepSeconds'] / max(t1, 1e-6)))
    min_reps = 1 if t1 > t['slowSeconds'] else t['minReps']
    reps = max(min_reps, min(t['reps'], int(t['budgetSeconds'] // (t1 * inner))))
    per = []
    wall0, cpu0 = time.perf_counter(), time.process_time()  # process_time: all threads
    for _ in range(reps):
        s = time.perf_counter()
        for _ in range(inner):
            call()
        per.append((time.perf_counter() - s) / inner)
    cpu_per_wall = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    return {'seconds': statistics.median(per), 'minSeconds': min(per), 'reps': reps, 'inner': inner, 'cpuPerWall': cpu_per_wall}


def measure_steps(step, t):
    losses = []

    def call():
        losses.append(step())
        if len(losses) > 2:
            del losses[1]
    r = measure(call, t)
    r.update(stepsPerSec=1 / r['seconds'], loss0=losses[0], lossLast=losses[-1])
    return r


def measure_samples(call, batch, t):
    probe = []

    def timed():
        v = call()
        if not probe:
            probe.append(v)
    r = measure(timed, t)
    r.update(imagesPerSec=batch / r['seconds'], probe=probe[0])
    return r


def unet(spec, out, emit):
    """common.ts's U-Net workload with unet_torch.py's twin of genlab's UNet (same state-dict names):
    EDM preconditioning (Karras et al. 2022, Table 1) and loss, Adam; then no-grad denoiser calls."""
    sys.dont_write_bytecode = True  # no __pycache__ left in scripts/fixtures
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'scripts', 'fixtures'))
    from unet_torch import UNet  # noqa: E402 — after the path is set
    u, t = spec['unet'], spec['timing']
    sd2 = u['sigmaData'] ** 2
    net = UNet(u['net'])

    def load_initial():
        net.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(unet_param(k, list(v.shape)))) for k, v in net.state_dict().items()})
    load_initial()
    res = {'parameters': sum(p.numel() for p in net.parameters()), 'tensors': len(net.state_dict()),
           'train': {'error': UNFINISHED}, 'sample': {'error': UNFINISHED}}

    def denoise(x, sigma, classes):
        s = sigma.reshape(-1, 1, 1, 1)
        c_skip = sd2 / (s ** 2 + sd2)
        c_out = s * u['sigmaData'] * (s ** 2 + sd2).rsqrt()
        c_in = (s ** 2 + sd2).rsqrt()
        return c_skip * x + c_out * net(x * c_in, sigma.log() * 0.25, classes)

    try:
        x0, noise, sigma, classes = unet_data(u, 'train')
        n = x0.shape[0]
        weight = (sigma ** 2 + sd2) / (sigma * u['sigmaData']) ** 2
        opt = torch.optim.Adam(net.parameters(), lr=u['lr'], betas=(0.9, 0.999), eps=1e-8)
        net.train()

        def step():
            opt.zero_grad(set_to_none=True)
            x = x0 + noise * sigma.reshape(-1, 1, 1, 1)
            loss = ((denoise(x, sigma, classes) - x0) ** 2).reshape(n, -1).mean(1).mul(weight).mean()
            loss.backward()
            opt.step()
            return loss.item()
        res['train'] = measure_steps(step, t)
    except Exception as e:  # noqa: BLE001 — reported in the table
        res['train'] = {'error': str(e)}
    out['unet'] = res
    emit()
    try:
        net.zero_grad(set_to_none=True)
        load_initial()  # peers train for different numbers of steps
        x0, noise, sigma, classes = unet_data(u, 'sample')
        x = x0 + noise * sigma.reshape(-1, 1, 1, 1)
        net.eval()

        def call():
            with torch.no_grad():
                return (denoise(x, sigma, classes) ** 2).mean().item()
        res['sample'] = measure_samples(call, x.shape[0], t)
    except Exception as e:  # noqa: BLE001
        res['sample'] = {'error': str(e)}


def blas_info():
    """Which BLAS/LAPACK libraries this process has mapped, and OpenBLAS's own description."""
    libs = set()
    with open('/proc/self/maps') as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ''
            base = os.path.basename(path)
            if any(k in base for k in ('blas', 'lapack', 'mkl', 'blis', 'gomp', 'iomp')):
                libs.add(path)
    info = {'libraries': sorted(libs)}
    openblas = [p for p in libs if 'openblas' in os.path.basename(p)]
    if openblas:
        lib = ctypes.CDLL(openblas[0])
        for fn in ('openblas_get_config', 'openblas_get_corename'):
            try:
                getattr(lib, fn).restype = ctypes.c_char_p
                info[fn[len('openblas_get_'):]] = getattr(lib, fn)().decode()
            except AttributeError:
                pass
        try:
            info['threads'] = lib.openblas_get_num_threads()
            info['parallel'] = {0: 'sequential', 1: 'pthreads', 2: 'openmp'}.get(lib.openblas_get_parallel(), '?')
        except AttributeError:
            pass
        info['name'] = f"OpenBLAS {info.get('parallel', '')} {info.get('corename', '')}".replace('  ', ' ').strip()
    elif any('mkl' in os.path.basename(p) for p in libs):
        info['name'] = 'MKL'
    elif any(os.path.basename(p).startswith('libblas.so') for p in libs):
        info['name'] = 'reference BLAS (netlib libblas3: slow)'
    else:
        info['name'] = 'unknown'
    return info


def main():
    args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
    spec = json.loads(args['--spec'])
    out = {'id': 'torch', 'label': 'PyTorch', 'info': {}}
    if torch is None:
        out['error'] = IMPORT_ERROR
        print('\n' + MARK + json.dumps(out), flush=True)
        return
    torch.set_num_threads(spec['threads'])
    torch.manual_seed(0)
    a0 = torch.ones(64, 64)
    (a0 @ a0).sum().item()  # load the BLAS before looking for it
    blas = blas_info()
    cfg = torch.__config__.show()
    build = next((l.strip() for l in cfg.splitlines() if 'Build settings' in l), '')
    out['info'] = {
        'version': torch.__version__, 'threads': torch.get_num_threads(), 'blas': blas,
        'blasAtBuild': next((kv.split('=')[1] for kv in build.split(', ') if kv.startswith('BLAS_INFO=')), '?'),
        'mkldnn': torch.backends.mkldnn.is_available(),
        'env': {k: os.environ.get(k) for k in ('LD_LIBRARY_PATH', 'OPENBLAS_CORETYPE', 'OMP_NUM_THREADS') if os.environ.get(k)},
    }
    out['label'] = f"PyTorch {torch.__version__} ({blas['name']}, {torch.get_num_threads()} threads)"
    t = spec['timing']
    only = spec['only']

    if 'gemm' in only:
        out['gemm'] = {}
        for n in spec['gemm']['sizes']:
            try:
                a = torch.from_numpy(hash_uniform(n * n, SEED['gemmA']).reshape(n, n))
                b = torch.from_numpy(hash_uniform(n * n, SEED['gemmB']).reshape(n, n))
                c = torch.empty(n, n)

                def call():
                    torch.mm(a, b, out=c)
                    return c[-1, -1].item()
                r = measure(call, t)
                flat = torch.mm(a, b).reshape(-1)
                r['probe'] = [flat[i].item() for i in (0, (n >> 1) * n + (n >> 1) + 1, n * n - 1)]
                r['gflops'] = 2 * n ** 3 / r['seconds'] / 1e9
                out['gemm'][str(n)] = r
            except Exception as e:  # noqa: BLE001 — reported in the table
                out['gemm'][str(n)] = {'error': str(e)}

    def train(net, loss_fn, x, target, lr):
        opt = torch.optim.Adam(net.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8)

        def step():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(x), target)
            loss.backward()
            opt.step()
            return loss.item()
        return measure_steps(step, t)

    def load(net, params):
        net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in params.items()})

    if 'mlp' in only:
        try:
            m = spec['mlp']
            widths, batch = m['widths'], m['batch']
            layers, params = [], {}
            for i in range(len(widths) - 1):
                if i > 0:
                    layers.append(torch.nn.SiLU())
                layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
                params.update(layer_params(str(2 * i), [widths[i + 1], widths[i]], widths[i], i))
            net = torch.nn.Sequential(*layers)
            load(net, params)
            x = torch.from_numpy(hash_uniform(batch * widths[0], SEED['mlpX']).reshape(batch, widths[0]))
            y = torch.from_numpy(hash_uniform(batch * widths[-1], SEED['mlpY']).reshape(batch, widths[-1]))
            out['mlp'] = train(net, torch.nn.functional.mse_loss, x, y, m['lr'])
        except Exception as e:  # noqa: BLE001
            out['mlp'] = {'error': str(e)}

    if 'conv' in only:
        try:
            n = spec['conv']['batch']
            layers, params = [], {}
            for k, c in enumerate(CONV):
                layers += [torch.nn.Conv2d(c['cin'], c['cout'], 3, stride=c['stride'], padding=c['padding']), torch.nn.ReLU()]
                params.update(layer_params(c['name'], [c['cout'], c['cin'], 3, 3], c['cin'] * 9, k))
            layers += [torch.nn.Flatten(), torch.nn.Linear(LINEAR['in'], LINEAR['out'])]
            params.update(layer_params(LINEAR['name'], [LINEAR['out'], LINEAR['in']], LINEAR['in'], len(CONV)))
            net = torch.nn.Sequential(*layers)
            load(net, params)
            x = torch.from_numpy((hash_uniform(n * 28 * 28, SEED['convX']) + 1) / 2).reshape(n, 1, 28, 28)
            labels = torch.from_numpy(hash_labels(n, SEED['convY'], 10))
            out['conv'] = train(net, torch.nn.functional.cross_entropy, x, labels, spec['conv']['lr'])
        except Exception as e:  # noqa: BLE001
            out['conv'] = {'error': str(e)}

    def emit():
        print('\n' + MARK + json.dumps(out), flush=True)

    if 'unet' in only:
        try:
            unet(spec, out, emit)
        except Exception as e:  # noqa: BLE001
            out['unet'] = {'error': str(e)}

    emit()


if __name__ == '__main__':
    main()
