#!/usr/bin/env python3
"""PyTorch twin of the engine's FRL-VAE (the DCGAN VAE of the Likelihood-Regret / FRL reference code).

  python3 bench/pytorch/frl_vae.py golden OUT.safetensors   # tiny config: weights, inputs, noise, expected values
  python3 bench/pytorch/frl_vae.py bench --config fmnist     # img/s of training steps and IWAE-20 scoring
  python3 bench/pytorch/frl_vae.py bench ... --profile       # and where a training step's time goes, per kernel

Module names follow the reference so that a state dict maps one to one onto the engine's parameter names
(prefixed "encoder." and "decoder.").
"""
import math, os, sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import twin  # noqa: E402


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
    twin.add_grads(out, model)
    for name, t in model.state_dict().items():
        if 'running' in name:
            out['after.' + name] = t.clone()
    model.eval()
    eps_iwae = torch.randn(k, n, nz, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        nll, w = model.iwae_nll(x, pixels, eps_iwae)
    out.update({'pixels': pixels.double(), 'eps': eps, 'eps_iwae': eps_iwae, 'loss': loss.detach().view(1),
                'rec': rec.detach().view(1), 'kl': kl.detach().view(1), 'iwae_terms': w, 'nll': nll})
    twin.write_golden(path, out, {'isize': isize, 'nz': nz, 'nc': nc, 'ngf': ngf}, loss, nll)


def bench(a):
    dev, sync = twin.device(a.device, a.threads, a.tf32)
    nc, ngf = {'fmnist': (2, 32), 'cifar': (4, 64)}[a.config]
    model = Vae(32, 200, nc, ngf).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    pixels = torch.randint(0, 256, (a.batch, nc, 32, 32), device=dev)
    x = pixels.float() / 255

    def step():
        opt.zero_grad()
        loss, _, _ = model.loss(x, pixels, torch.randn(a.batch, 200, 1, 1, device=dev))
        loss.backward()
        opt.step()
    sp = pixels[:1].repeat(a.score_batch, 1, 1, 1) if a.score_batch > a.batch else pixels[:a.score_batch]
    eps = torch.randn(a.k, a.score_batch, 200, device=dev)
    twin.time_and_report(a, dev, sync, model, step, lambda: model.iwae_nll(sp.float() / 255, sp, eps), {'model': 'vae', 'config': a.config})


if __name__ == '__main__':
    ap, _ = twin.parser('fmnist', 64, 16, k=20)
    a = ap.parse_args()
    golden(a.out) if a.cmd == 'golden' else bench(a)
