"""What the PyTorch twins (frl_vae.py, frl_glow.py, frl_pixelcnn.py) share: the golden files' writer, the device
setup, the timing of training steps and scoring passes, their JSON line, and the command line."""
import argparse, json, struct, time

import torch


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


def add_grads(out, model, name=lambda n: n):
    """Every parameter's gradient into a golden file's tensors, as 'grad.' + its engine name."""
    for n, p in model.named_parameters():
        out['grad.' + name(n)] = p.grad.clone()


def write_golden(path, out, shape, loss, nll):
    """A golden file: the tensors, and in its metadata the model's shape and the torch version."""
    meta = {k: str(v) for k, v in shape.items()}
    meta.update({'torch': torch.__version__, 'note': 'computed in float64; stored as F32'})
    write_safetensors(path, out, meta)
    print('wrote', path, 'loss', loss.item(), 'nll', nll.tolist())


def device(name, threads, tf32):
    """The torch device and a wait for it; cuDNN in benchmark mode, TF32 as asked."""
    torch.set_num_threads(threads)
    dev = torch.device(name)
    if dev.type == 'cuda':
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
    return dev, (torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None))


def models_bench_setup(a, make):
    """Glow's and PixelCNN++'s bench: the device, make(channels) there with Adam (lr 1e-3), random 8-bit images of the
    training batch, and those of the scoring batch (the first repeated where it is the larger)."""
    dev, sync = device(a.device, a.threads, a.tf32)
    nc = {'fmnist': 2, 'cifar': 4}[a.config]
    model = make(nc).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    pixels = torch.randint(0, 256, (a.batch, nc, 32, 32), device=dev).float()
    scored = pixels[:1].repeat(a.score_batch, 1, 1, 1) if a.score_batch > a.batch else pixels[:a.score_batch]
    return dev, sync, model, opt, pixels, scored


def median(v):
    s = sorted(v)
    return s[len(s) // 2] if len(s) % 2 else sum(s[len(s) // 2 - 1:len(s) // 2 + 1]) / 2


def time_and_report(a, dev, sync, model, step, score, res):
    """Training steps (a.warmup untimed, then a.steps per repeat) and scoring passes (one untimed, then one per repeat)
    in images/s; prints res with the run's settings and the medians as one JSON line."""
    model.train()
    for _ in range(a.warmup):
        step()
    train = []
    for _ in range(a.repeats):
        sync()
        t = time.perf_counter()
        for _ in range(a.steps):
            step()
        sync()
        train.append(a.batch * a.steps / (time.perf_counter() - t))
    if a.profile:
        profile_steps(step, a.steps, sync, dev, a.config)
    model.eval()
    rates = []
    with torch.no_grad():
        score()
        for _ in range(a.repeats):
            sync()
            t = time.perf_counter()
            score()
            sync()
            rates.append(a.score_batch / (time.perf_counter() - t))
    res.update({'device': a.device, 'framework': 'pytorch ' + torch.__version__, 'threads': a.threads, 'batch': a.batch,
                'score_batch': a.score_batch})
    if 'k' in a:
        res['k'] = a.k
    res.update({'steps': a.steps, 'repeats': a.repeats, 'tf32': a.tf32, 'train_img_s': round(median(train), 2),
                'score_img_s': round(median(rates), 3)})
    if dev.type == 'cuda':
        res['gpu'] = torch.cuda.get_device_name(0)
    print(json.dumps(res))


def parser(config, batch, score_batch, k=None):
    """golden OUT, or bench with the options every twin takes (defaults as given); the caller adds its shape's."""
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    sub.add_parser('golden').add_argument('out')
    b = sub.add_parser('bench')
    b.add_argument('--config', default=config, choices=['fmnist', 'cifar'])
    b.add_argument('--batch', type=int, default=batch)
    b.add_argument('--score-batch', type=int, default=score_batch)
    if k is not None:
        b.add_argument('--k', type=int, default=k)
    b.add_argument('--steps', type=int, default=5)
    b.add_argument('--threads', type=int, default=2)
    b.add_argument('--device', default='cpu')
    b.add_argument('--warmup', type=int, default=1)
    b.add_argument('--repeats', type=int, default=1)
    b.add_argument('--tf32', action='store_true')
    b.add_argument('--profile', action='store_true', help='also print where a training step goes (torch.profiler)')
    return ap, b


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
