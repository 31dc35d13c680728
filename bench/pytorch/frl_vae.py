#!/usr/bin/env python3
"""PyTorch twin of the engine's FRL-VAE (the DCGAN VAE of the Likelihood-Regret / FRL reference code).

  python3 bench/pytorch/frl_vae.py golden OUT.safetensors   # tiny config: weights, inputs, noise, expected values
  python3 bench/pytorch/frl_vae.py bench --config fmnist     # img/s of training steps and IWAE-20 scoring
  python3 bench/pytorch/frl_vae.py bench ... --profile       # and where a training step's time goes, per kernel

Module names follow the reference so that a state dict maps one to one onto the engine's parameter names
(prefixed "encoder." and "decoder.").
"""
import argparse, json, math, struct, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Encoder(nn.Module):
    def __init__(self, isize, nz, nc, ngf):
        super().__init__()
        n = int(math.log2(isize))
        main = nn.Sequential()
        main.add_module('input-conv', nn.Conv2d(nc, ngf, 4, 2, 1, bias=False))
        main.add_module('input-BN', nn.BatchNorm2d(ngf))
        main.add_module('input-relu', nn.ReLU(True))
        for i in range(n - 3):
            cin, cout = ngf * 2 ** i, ngf * 2 ** (i + 1)
            main.add_module('pyramid:{}-{}:conv'.format(cin, cout), nn.Conv2d(cin, cout, 4, 2, 1, bias=False))
            main.add_module('pyramid:{}:batchnorm'.format(cout), nn.BatchNorm2d(cout))
            main.add_module('pyramid:{}:relu'.format(cout), nn.ReLU(True))
        self.main = main
        self.conv1 = nn.Conv2d(ngf * 2 ** (n - 3), nz, 4)
        self.conv2 = nn.Conv2d(ngf * 2 ** (n - 3), nz, 4)

    def forward(self, x):
        h = self.main(x)
        return self.conv1(h), self.conv2(h)


class Decoder(nn.Module):
    def __init__(self, isize, nz, nc, ngf):
        super().__init__()
        cngf, tisize = ngf // 2, 4
        while tisize != isize:
            cngf, tisize = cngf * 2, tisize * 2
        main = nn.Sequential()
        main.add_module('initial:{}-{}:convt'.format(nz, cngf), nn.ConvTranspose2d(nz, cngf, 4, 1, 0, bias=False))
        main.add_module('initial:{}:batchnorm'.format(cngf), nn.BatchNorm2d(cngf))
        main.add_module('initial:{}:relu'.format(cngf), nn.ReLU(True))
        csize = 4
        while csize < isize // 2:
            main.add_module('pyramid:{}-{}:convt'.format(cngf, cngf // 2), nn.ConvTranspose2d(cngf, cngf // 2, 4, 2, 1, bias=False))
            main.add_module('pyramid:{}:batchnorm'.format(cngf // 2), nn.BatchNorm2d(cngf // 2))
            main.add_module('pyramid:{}:relu'.format(cngf // 2), nn.ReLU(True))
            cngf, csize = cngf // 2, csize * 2
        main.add_module('final:{}-{}:convt'.format(cngf, nc), nn.ConvTranspose2d(cngf, nc * 256, 4, 2, 1, bias=False))
        self.main, self.nc, self.isize = main, nc, isize

    def forward(self, z):
        out = self.main(z)
        return out.view(-1, self.nc, 256, self.isize, self.isize)  # classes on axis 2


class Vae(nn.Module):
    def __init__(self, isize, nz, nc, ngf):
        super().__init__()
        self.encoder, self.decoder = Encoder(isize, nz, nc, ngf), Decoder(isize, nz, nc, ngf)

    def loss(self, x, targets, eps):
        """Reference training loss: summed cross-entropy per image + KL, both averaged over the batch."""
        mu, logvar = self.encoder(x)
        z = mu + torch.exp(logvar / 2) * eps.view_as(mu)
        logits = self.decoder(z)
        b = x.size(0)
        rec = F.cross_entropy(logits.transpose(1, 2), targets, reduction='sum') / b
        kl = (-0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=(1, 2, 3))).mean()
        return rec + kl, rec, kl

    def iwae_nll(self, x, targets, eps):
        """−log (1/K) Σ_k p(x|z_k) p(z_k) / q(z_k|x) in nats, eps: [K, N, nz]."""
        mu, logvar = self.encoder(x)
        mu, logvar = mu.flatten(1), logvar.flatten(1)
        terms = []
        for k in range(eps.size(0)):
            z = mu + torch.exp(logvar / 2) * eps[k]
            logits = self.decoder(z.view(z.size(0), -1, 1, 1))
            log_px = -F.cross_entropy(logits.transpose(1, 2), targets, reduction='none').flatten(1).sum(1)
            log_pz = -(z ** 2 / 2 + math.log(2 * math.pi) / 2).sum(1)
            log_qz = -(eps[k] ** 2 / 2 + math.log(2 * math.pi) / 2 + logvar / 2).sum(1)
            terms.append(log_px + log_pz - log_qz)
        w = torch.stack(terms)  # [K, N]
        return -(torch.logsumexp(w, 0) - math.log(eps.size(0))), w


def reference_init(model, gen):
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            m.weight.data.normal_(0.0, 0.02, generator=gen)
        elif isinstance(m, nn.BatchNorm2d):
            m.weight.data.normal_(1.0, 0.02, generator=gen)
            m.bias.data.zero_()


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {'__metadata__': metadata}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header).encode()
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def golden(path):
    torch.manual_seed(7)
    gen = torch.Generator().manual_seed(7)
    isize, nz, nc, ngf, n, k = 16, 3, 2, 4, 3, 4
    model = Vae(isize, nz, nc, ngf).double()
    reference_init(model, gen)
    out = {'state.' + name: t.clone() for name, t in model.state_dict().items() if 'num_batches' not in name}
    pixels = torch.randint(0, 256, (n, nc, isize, isize), generator=gen)
    x = (pixels.double() / 255)
    eps = torch.randn(n, nz, 1, 1, generator=gen, dtype=torch.float64)
    model.train()
    loss, rec, kl = model.loss(x, pixels, eps)
    loss.backward()
    for name, p in model.named_parameters():
        out['grad.' + name] = p.grad.clone()
    for name, t in model.state_dict().items():
        if 'running' in name:
            out['after.' + name] = t.clone()
    model.eval()
    eps_iwae = torch.randn(k, n, nz, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        nll, w = model.iwae_nll(x, pixels, eps_iwae)
    out.update({'pixels': pixels.double(), 'eps': eps, 'eps_iwae': eps_iwae, 'loss': loss.detach().view(1),
                'rec': rec.detach().view(1), 'kl': kl.detach().view(1), 'iwae_terms': w, 'nll': nll})
    meta = {'isize': str(isize), 'nz': str(nz), 'nc': str(nc), 'ngf': str(ngf), 'torch': torch.__version__,
            'note': 'computed in float64; stored as F32'}
    write_safetensors(path, out, meta)
    print('wrote', path, 'loss', loss.item(), 'nll', nll.tolist())


def bench(config, train_batch, score_batch, k, steps, threads, device='cpu', warmup=1, repeats=1, tf32=False, profile=False):
    torch.set_num_threads(threads)
    dev = torch.device(device)
    if dev.type == 'cuda':
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
    nc, ngf = {'fmnist': (2, 32), 'cifar': (4, 64)}[config]
    model = Vae(32, 200, nc, ngf).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    pixels = torch.randint(0, 256, (train_batch, nc, 32, 32), device=dev)
    x = pixels.float() / 255

    def step():
        opt.zero_grad()
        loss, _, _ = model.loss(x, pixels, torch.randn(train_batch, 200, 1, 1, device=dev))
        loss.backward()
        opt.step()
    model.train()
    for _ in range(warmup):
        step()
    train = []
    for _ in range(repeats):
        sync()
        t = time.perf_counter()
        for _ in range(steps):
            step()
        sync()
        train.append(train_batch * steps / (time.perf_counter() - t))
    if profile:
        profile_steps(step, steps, sync, dev, config)
    model.eval()
    sp = pixels[:1].repeat(score_batch, 1, 1, 1) if score_batch > train_batch else pixels[:score_batch]
    eps = torch.randn(k, score_batch, 200, device=dev)
    score = []
    with torch.no_grad():
        model.iwae_nll(sp.float() / 255, sp, eps)
        for _ in range(repeats):
            sync()
            t = time.perf_counter()
            model.iwae_nll(sp.float() / 255, sp, eps)
            sync()
            score.append(score_batch / (time.perf_counter() - t))
    med = lambda v: sorted(v)[len(v) // 2] if len(v) % 2 else sum(sorted(v)[len(v) // 2 - 1:len(v) // 2 + 1]) / 2
    res = {'model': 'vae', 'config': config, 'device': device, 'framework': 'pytorch ' + torch.__version__,
           'threads': threads, 'batch': train_batch, 'score_batch': score_batch, 'k': k, 'steps': steps,
           'repeats': repeats, 'tf32': tf32, 'train_img_s': round(med(train), 2), 'score_img_s': round(med(score), 3)}
    if dev.type == 'cuda':
        res['gpu'] = torch.cuda.get_device_name(0)
    print(json.dumps(res))


def profile_steps(step, steps, sync, dev, config, top=30):
    """One JSON line per kernel (on a GPU) or per op (on the CPU) of `steps` training steps under torch.profiler,
    heaviest first, per step: to set beside the engine's `frl bench --profile`."""
    from torch.profiler import profile, ProfilerActivity
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == 'cuda' else [])
    sync()
    t = time.perf_counter()
    with profile(activities=acts) as prof:
        for _ in range(steps):
            step()
        sync()
    wall_ms = (time.perf_counter() - t) * 1e3 / steps
    device_us = lambda e: getattr(e, 'self_device_time_total', None) or getattr(e, 'self_cuda_time_total', 0)
    rows = prof.key_averages()
    kernels = [e for e in rows if device_us(e) > 0 and str(getattr(e, 'device_type', '')).endswith('CUDA')]
    if kernels:
        timed, how = kernels, 'device'
    else:
        timed, how = [e for e in rows if e.self_cpu_time_total > 0], 'cpu'
    at = (lambda e: device_us(e)) if how == 'device' else (lambda e: e.self_cpu_time_total)
    total = sum(at(e) for e in timed)
    print(json.dumps({'framework': 'pytorch ' + torch.__version__, 'config': config, 'profile': how + ' time per training step',
                      'ms_per_step': round(wall_ms, 3), 'timed_ms_per_step': round(total / steps / 1e3, 3),
                      'entries_per_step': round(sum(e.count for e in timed) / steps, 1)}))
    for e in sorted(timed, key=at, reverse=True)[:top]:
        print(json.dumps({'framework': 'pytorch', 'op': e.key[:120], 'calls_per': round(e.count / steps, 2),
                          'us_per': round(at(e) / steps, 1)}))


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    g = sub.add_parser('golden'); g.add_argument('out')
    b = sub.add_parser('bench')
    b.add_argument('--config', default='fmnist', choices=['fmnist', 'cifar'])
    b.add_argument('--batch', type=int, default=64)
    b.add_argument('--score-batch', type=int, default=16)
    b.add_argument('--k', type=int, default=20)
    b.add_argument('--steps', type=int, default=5)
    b.add_argument('--threads', type=int, default=2)
    b.add_argument('--device', default='cpu')
    b.add_argument('--warmup', type=int, default=1)
    b.add_argument('--repeats', type=int, default=1)
    b.add_argument('--tf32', action='store_true')
    b.add_argument('--profile', action='store_true', help='also print where a training step goes (torch.profiler)')
    a = ap.parse_args()
    if a.cmd == 'golden':
        golden(a.out)
    else:
        bench(a.config, a.batch, a.score_batch, a.k, a.steps, a.threads, a.device, a.warmup, a.repeats, a.tf32, a.profile)
