#!/usr/bin/env python3
"""PyTorch twin of the engine's PixelCNN++ (frl.model.PixelCnn): the layout of the common PyTorch port (u and ul
streams of gated resnets with concat-ELU at three resolutions, weight-normalised shifted convolutions) and a
discretised logistic mixture over C channels (channel c's mean conditioned on the channels before it).

  python3 bench/pytorch/frl_pixelcnn.py golden OUT.safetensors   # tiny config: weights, input, expected values
  python3 bench/pytorch/frl_pixelcnn.py bench --config cifar      # img/s of training steps and scoring

Names are the engine's, so a state dict maps one to one ("up0_0_ul.nin_skip.weight_v"). Dropout in training only with bench --dropout (the engine's frl bench --dropout; its frl train uses the paper's 0.5).
"""
import math, os, sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import weight_norm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import twin  # noqa: E402


def concat_elu(x):
    return F.elu(torch.cat([x, -x], 1))


class ShiftedConv2d(nn.Module):
    """down (kh-1 rows on top, (kw-1)/2 columns each side) or down-right (kh-1 on top, kw-1 on the left)."""

    def __init__(self, cin, cout, kh, kw, right, stride=1, shift_output=False):
        super().__init__()
        self.pad = (kw - 1, 0, kh - 1, 0) if right else ((kw - 1) // 2, (kw - 1) // 2, kh - 1, 0)
        self.conv = weight_norm(nn.Conv2d(cin, cout, (kh, kw), stride=stride))
        self.right, self.shift_output = right, shift_output

    def forward(self, x):
        y = self.conv(F.pad(x, self.pad))
        if not self.shift_output:
            return y
        if self.right:
            return F.pad(y, (1, 0, 0, 0))[:, :, :, :-1]
        return F.pad(y, (0, 0, 1, 0))[:, :, :-1, :]


class ShiftedConvTranspose2d(nn.Module):
    def __init__(self, cin, cout, kh, kw, right):
        super().__init__()
        self.conv = weight_norm(nn.ConvTranspose2d(cin, cout, (kh, kw), stride=2, output_padding=1))
        self.kh, self.kw, self.right = kh, kw, right

    def forward(self, x):
        h, w = x.shape[2], x.shape[3]
        y = self.conv(x)
        left = 0 if self.right else (self.kw - 1) // 2
        return y[:, :, :2 * h, left:left + 2 * w]


class Nin(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = weight_norm(nn.Conv2d(cin, cout, 1))

    def forward(self, x):
        return self.conv(x)


class GatedResnet(nn.Module):
    def __init__(self, f, kh, kw, right, skips, dropout=0.0):
        super().__init__()
        self.conv_input = ShiftedConv2d(2 * f, f, kh, kw, right)
        self.nin_skip = Nin(2 * skips * f, f) if skips else None
        self.conv_out = ShiftedConv2d(2 * f, 2 * f, kh, kw, right)
        self.dropout = dropout

    def forward(self, x, a=None):
        h = self.conv_input(concat_elu(x))
        if a is not None:
            h = h + self.nin_skip(concat_elu(a))
        h = concat_elu(h)
        if self.dropout > 0:  # skipped at 0, so the golden file's random draws stay as they were
            h = F.dropout(h, self.dropout, self.training)
        a, b = self.conv_out(h).chunk(2, 1)
        return x + a * torch.sigmoid(b)


def parameter_channels(c, m):
    return m * (1 + 2 * c + c * (c - 1) // 2)


class PixelCnn(nn.Module):
    def __init__(self, channels, resnets, filters, mixtures, dropout=0.0):
        super().__init__()
        self.channels, self.resnets, self.mixtures, f, cin = channels, resnets, mixtures, filters, channels + 1
        self.add_module('u_init', ShiftedConv2d(cin, f, 2, 3, False, shift_output=True))
        self.add_module('ul_init_down', ShiftedConv2d(cin, f, 1, 3, False, shift_output=True))
        self.add_module('ul_init_right', ShiftedConv2d(cin, f, 2, 1, True, shift_output=True))
        for s in range(3):
            for r in range(resnets):
                self.add_module(f'up{s}_{r}_u', GatedResnet(f, 2, 3, False, 0, dropout))
                self.add_module(f'up{s}_{r}_ul', GatedResnet(f, 2, 2, True, 1, dropout))
            if s < 2:
                self.add_module(f'downsize_u{s}', ShiftedConv2d(f, f, 2, 3, False, stride=2))
                self.add_module(f'downsize_ul{s}', ShiftedConv2d(f, f, 2, 2, True, stride=2))
        for s in range(3):
            for r in range(resnets + (0 if s == 0 else 1)):
                self.add_module(f'down{s}_{r}_u', GatedResnet(f, 2, 3, False, 1, dropout))
                self.add_module(f'down{s}_{r}_ul', GatedResnet(f, 2, 2, True, 2, dropout))
            if s < 2:
                self.add_module(f'upsize_u{s}', ShiftedConvTranspose2d(f, f, 2, 3, False))
                self.add_module(f'upsize_ul{s}', ShiftedConvTranspose2d(f, f, 2, 2, True))
        self.add_module('nin_out', Nin(f, parameter_channels(channels, mixtures)))

    def m(self, name):
        return getattr(self, name)

    def forward(self, x):
        x = torch.cat([x, torch.ones_like(x[:, :1])], 1)
        us, uls = [self.m('u_init')(x)], [self.m('ul_init_down')(x) + self.m('ul_init_right')(x)]
        for s in range(3):
            for r in range(self.resnets):
                u = self.m(f'up{s}_{r}_u')(us[-1])
                uls.append(self.m(f'up{s}_{r}_ul')(uls[-1], u))
                us.append(u)
            if s < 2:
                us.append(self.m(f'downsize_u{s}')(us[-1]))
                uls.append(self.m(f'downsize_ul{s}')(uls[-1]))
        u, ul = us.pop(), uls.pop()
        for s in range(3):
            for r in range(self.resnets + (0 if s == 0 else 1)):
                u = self.m(f'down{s}_{r}_u')(u, us.pop())
                ul = self.m(f'down{s}_{r}_ul')(ul, torch.cat([u, uls.pop()], 1))
            if s < 2:
                u, ul = self.m(f'upsize_u{s}')(u), self.m(f'upsize_ul{s}')(ul)
        return self.m('nin_out')(F.elu(ul))

    def nll(self, pixels):
        x = pixels / 127.5 - 1
        return mixture_nll(x, self(x), self.mixtures)


def mixture_nll(x, params, m):
    """-log p per image: logits M, means C*M, log-scales C*M, coefficients P*M (pairs (1,0), (2,0), (2,1), ...)."""
    c = x.shape[1]
    logits = params[:, :m]
    log_prob = logits - torch.logsumexp(logits, 1, keepdim=True)
    pair = 0
    for ch in range(c):
        mean = params[:, m * (1 + ch):m * (2 + ch)]
        for j in range(ch):
            mean = mean + params[:, m * (1 + 2 * c + pair):m * (2 + 2 * c + pair)] * x[:, j:j + 1]
            pair += 1
        log_scale = torch.clamp(params[:, m * (1 + c + ch):m * (2 + c + ch)], min=-7.)
        xc = x[:, ch:ch + 1]
        centred, inv = xc - mean, torch.exp(-log_scale)
        plus, minus = inv * (centred + 1 / 255.), inv * (centred - 1 / 255.)
        log_cdf_plus = plus - F.softplus(plus)
        log_one_minus = -F.softplus(minus)
        mass = torch.sigmoid(plus) - torch.sigmoid(minus)
        mid = inv * centred
        log_density = mid - log_scale - 2. * F.softplus(mid)
        inner = torch.where(mass > 1e-5, torch.log(torch.clamp(mass, min=1e-12)), log_density - math.log(127.5))
        log_prob = log_prob + torch.where(xc < -0.999, log_cdf_plus, torch.where(xc > 0.999, log_one_minus, inner))
    return -torch.logsumexp(log_prob, 1).flatten(1).sum(1)


def golden(path):
    torch.manual_seed(13)
    gen = torch.Generator().manual_seed(13)
    size, channels, resnets, filters, mixtures, n = 8, 2, 1, 4, 2, 3
    model = PixelCnn(channels, resnets, filters, mixtures).double()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=gen, dtype=torch.float64))
    state = {k.replace('.conv.', '.'): t.clone() for k, t in model.state_dict().items()}
    out = {'state.' + k: t for k, t in state.items()}
    pixels = torch.randint(0, 256, (n, channels, size, size), generator=gen).double()
    pixels[0, :, 0, 0] = 0      # the tails
    pixels[1, :, 1, 2] = 255
    params = model(pixels / 127.5 - 1)
    nll = mixture_nll(pixels / 127.5 - 1, params, mixtures)
    loss = nll.mean()
    loss.backward()
    twin.add_grads(out, model, lambda n: n.replace('.conv.', '.'))
    out.update({'pixels': pixels, 'params': params.detach(), 'nll': nll.detach(), 'loss': loss.detach().view(1)})
    twin.write_golden(path, out, {'size': size, 'channels': channels, 'resnets': resnets, 'filters': filters, 'mixtures': mixtures}, loss, nll)


def bench(a):
    dev, sync, model, opt, pixels, sp = twin.models_bench_setup(a, lambda nc: PixelCnn(nc, a.resnets, a.filters, a.mixtures, a.dropout))

    def step():
        opt.zero_grad()
        model.nll(pixels).mean().backward()
        opt.step()
    res = {'model': 'pixelcnn', 'config': a.config, 'pixelcnn': {'resnets': a.resnets, 'filters': a.filters, 'mixtures': a.mixtures},
           'params': sum(p.numel() for p in model.parameters())}
    if a.dropout > 0:
        res['dropout'] = a.dropout
    twin.time_and_report(a, dev, sync, model, step, lambda: model.nll(sp), res)


if __name__ == '__main__':
    ap, b = twin.parser('cifar', 32, 128)
    b.add_argument('--resnets', type=int, default=3)
    b.add_argument('--filters', type=int, default=80)
    b.add_argument('--mixtures', type=int, default=10)
    b.add_argument('--dropout', type=float, default=0.0)
    a = ap.parse_args()
    golden(a.out) if a.cmd == 'golden' else bench(a)
