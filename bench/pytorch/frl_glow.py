#!/usr/bin/env python3
"""PyTorch twin of the engine's Glow (frl.model.Glow): multi-scale, actnorm + LU 1x1 conv + affine coupling per
step, learned priors at each split and at the top, NLL in nats of 8-bit images dequantised by uniform noise.

  python3 bench/pytorch/frl_glow.py golden OUT.safetensors   # tiny config: weights, inputs, noise, expected values
  python3 bench/pytorch/frl_glow.py bench --config cifar      # img/s of training steps and K-sample scoring

Module and parameter names are the engine's, so a state dict maps one to one onto it ("level0-step1.mix.invconv.w_l").
"""
import math, os, sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import twin  # noqa: E402

LOG_2PI = math.log(2 * math.pi)


class ActNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.logs = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.register_buffer('initialized', torch.zeros(1))

    def forward(self, x):
        if self.initialized.item() == 0:   # data-dependent init on the first batch
            with torch.no_grad():
                mean = x.mean(dim=(0, 2, 3), keepdim=True)
                std = ((x - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True).sqrt()
                self.bias.copy_(-mean)
                self.logs.copy_(-torch.log(std + 1e-6))
                self.initialized.fill_(1)
        return (x + self.bias) * torch.exp(self.logs), x.shape[2] * x.shape[3] * self.logs.sum()


class InvConv1x1(nn.Module):
    """W = P (L*mask_l + I) (U*mask_u + diag(sign*exp(w_s))), from the LU factors of a random rotation."""

    def __init__(self, c):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(c, c, dtype=torch.float64))
        p, lower, upper = torch.linalg.lu(q)
        s = torch.diagonal(upper)
        self.register_buffer('w_p', p.float())
        self.w_l = nn.Parameter(lower.float())
        self.w_s = nn.Parameter(torch.log(s.abs()).float())
        self.w_u = nn.Parameter(torch.triu(upper, 1).float())
        self.register_buffer('s_sign', torch.sign(s).float())
        self.register_buffer('l_mask', torch.tril(torch.ones(c, c), -1))
        self.register_buffer('u_mask', torch.triu(torch.ones(c, c), 1))
        self.register_buffer('l_eye', torch.eye(c))

    def weight(self):
        lower = self.w_l * self.l_mask + self.l_eye
        upper = self.w_u * self.u_mask + torch.diag(self.s_sign * torch.exp(self.w_s))
        return self.w_p @ lower @ upper

    def forward(self, x):
        c = x.shape[1]
        return F.conv2d(x, self.weight().view(c, c, 1, 1)), x.shape[2] * x.shape[3] * self.w_s.sum()


class ActNormInvConv(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.actnorm = ActNorm(c)
        self.invconv = InvConv1x1(c)

    def forward(self, x):
        y, a = self.actnorm(x)
        y, b = self.invconv(y)
        return y, a + b


class ZeroConv2d(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(cout, cin, 3, 3))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.logs = nn.Parameter(torch.zeros(1, cout, 1, 1))

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, padding=1) * torch.exp(3 * self.logs)


class AffineCoupling(nn.Module):
    """y_b = (x_b + t) * sigmoid(r + 2), [t, r] = NN(x_a) split in halves."""

    def __init__(self, c, hidden):
        super().__init__()
        self.register_parameter('in-conv', nn.Parameter(torch.randn(hidden, c // 2, 3, 3) * 0.05))
        self.add_module('in-actnorm', ActNorm(hidden))
        self.register_parameter('mid-conv', nn.Parameter(torch.randn(hidden, hidden, 1, 1) * 0.05))
        self.add_module('mid-actnorm', ActNorm(hidden))
        self.out = ZeroConv2d(hidden, c)

    def forward(self, x):
        xa, xb = x.chunk(2, 1)
        h = F.relu(getattr(self, 'in-actnorm')(F.conv2d(xa, getattr(self, 'in-conv'), padding=1))[0])
        h = F.relu(getattr(self, 'mid-actnorm')(F.conv2d(h, getattr(self, 'mid-conv')))[0])
        t, r = self.out(h).chunk(2, 1)
        s = torch.sigmoid(r + 2)
        return torch.cat([xa, (xb + t) * s], 1), torch.log(s).flatten(1).sum(1)


class Step(nn.Module):
    def __init__(self, c, hidden):
        super().__init__()
        self.mix = ActNormInvConv(c)
        self.coupling = AffineCoupling(c, hidden)

    def forward(self, x):
        y, a = self.mix(x)
        y, b = self.coupling(y)
        return y, a + b


def squeeze(x):
    """[N,C,H,W] -> [N,4C,H/2,W/2], channel c*4 + i*2 + j from pixel (2h+i, 2w+j) of channel c (OpenAI Glow's)."""
    n, c, h, w = x.shape
    return x.view(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(n, c * 4, h // 2, w // 2)


def gaussian_log_density(z, mean, logs):
    return (-0.5 * (LOG_2PI + 2 * logs + (z - mean) ** 2 * torch.exp(-2 * logs))).flatten(1).sum(1)


class Glow(nn.Module):
    def __init__(self, channels, hidden, depth, levels):
        super().__init__()
        self.levels, self.depth = levels, depth
        for l in range(levels):
            c = channels * 4 << l
            for k in range(depth):
                self.add_module(f'level{l}-step{k}', Step(c, hidden))
            if l < levels - 1:
                self.add_module(f'level{l}-prior', ZeroConv2d(c // 2, c))
        top = channels * 4 << (levels - 1)
        self.register_parameter('top-mean', nn.Parameter(torch.zeros(1, top, 1, 1)))
        self.register_parameter('top-logs', nn.Parameter(torch.zeros(1, top, 1, 1)))

    def nll(self, pixels, u):
        """-log p(x) + D log 256 per image, x = (pixels + u)/256 - 0.5; also log p(z) and log|det| per image."""
        h = (pixels + u) / 256 - 0.5
        logp, logdet = 0, 0
        for l in range(self.levels):
            h = squeeze(h)
            for k in range(self.depth):
                h, ld = getattr(self, f'level{l}-step{k}')(h)
                logdet = logdet + ld
            if l < self.levels - 1:
                h, z = h.chunk(2, 1)
                mean, logs = getattr(self, f'level{l}-prior')(h).chunk(2, 1)
                logp = logp + gaussian_log_density(z, mean, logs)
            else:
                logp = logp + gaussian_log_density(h, getattr(self, 'top-mean'), getattr(self, 'top-logs'))
        d = pixels[0].numel()
        return -(logp + logdet) + d * math.log(256), logp, logdet


def golden(path):
    torch.manual_seed(11)
    gen = torch.Generator().manual_seed(11)
    size, channels, hidden, depth, levels, n = 8, 2, 4, 2, 2, 3
    model = Glow(channels, hidden, depth, levels).double()
    with torch.no_grad():   # every parameter away from its init (zero convs too), every actnorm initialised
        for name, p in model.named_parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=gen, dtype=torch.float64))
        for name, b in model.named_buffers():
            if name.endswith('initialized'):
                b.fill_(1)
    out = {'state.' + name: t.clone() for name, t in model.state_dict().items()}
    pixels = torch.randint(0, 256, (n, channels, size, size), generator=gen).double()
    u = torch.rand(n, channels, size, size, generator=gen, dtype=torch.float64)
    nll, logp, logdet = model.nll(pixels, u)
    loss = nll.mean()
    loss.backward()
    twin.add_grads(out, model)
    out.update({'pixels': pixels, 'u': u, 'nll': nll.detach(), 'logp': logp.detach(), 'logdet': logdet.detach(),
                'loss': loss.detach().view(1)})
    twin.write_golden(path, out, {'size': size, 'channels': channels, 'hidden': hidden, 'depth': depth, 'levels': levels}, loss, nll)


def bench(a):
    dev, sync, model, opt, pixels, sp = twin.models_bench_setup(a, lambda nc: Glow(nc, a.hidden, a.depth, a.levels))

    def step():
        opt.zero_grad()
        nll, _, _ = model.nll(pixels, torch.rand_like(pixels))
        nll.mean().backward()
        opt.step()
    u = torch.rand(a.k, *sp.shape, device=dev)

    def score():   # K dequantisations per image, log-mean-exp of the log-weights
        w = torch.stack([-model.nll(sp, u[j])[0] for j in range(a.k)])
        return -(torch.logsumexp(w, 0) - math.log(a.k))
    res = {'model': 'glow', 'config': a.config, 'glow': {'hidden': a.hidden, 'depth': a.depth, 'levels': a.levels},
           'params': sum(p.numel() for p in model.parameters())}
    twin.time_and_report(a, dev, sync, model, step, score, res)


if __name__ == '__main__':
    ap, b = twin.parser('cifar', 64, 256, k=1)
    b.add_argument('--hidden', type=int, default=256)
    b.add_argument('--depth', type=int, default=16)
    b.add_argument('--levels', type=int, default=3)
    a = ap.parse_args()
    golden(a.out) if a.cmd == 'golden' else bench(a)
