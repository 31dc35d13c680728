"""A Python mirror of hf_warp_rows (src/main/cuda/frequency.cu: the HF channel by one warp per image), lane by lane,
shuffles and register window included, against HighPass.apply (frl.freq) in the same double arithmetic: every output
bit for bit, in order and with the folded exact sums (on 8-bit images, where HighPass.exactSumsBelow holds; there an
FMA and a multiply then add give the same double). For the window and edge logic, written without a GPU.
    python3 bench/gpu/hf_warp_mirror.py              the cases
    python3 bench/gpu/hf_warp_mirror.py --mutants    planted bugs, each of which must be caught"""
import random, struct, sys

def f32(x): return struct.unpack('f', struct.pack('f', x))[0]

TABLES = {1: [1.0], 3: [.25, .5, .25], 5: [1/16, 4/16, 6/16, 4/16, 1/16], 7: [2/64, 7/64, 14/64, 18/64, 14/64, 7/64, 2/64],
          9: [4/256, 13/256, 30/256, 51/256, 60/256, 51/256, 30/256, 13/256, 4/256]}

def high_pass(img, H, W, t):  # HighPass.apply, one channel: taps ascending from 0, outside taps skipped
    k = len(t); r = k // 2
    rows = [0.0] * (H * W)
    for y in range(H):
        for j in range(k):
            sh = j - r
            for x in range(max(0, -sh), min(W, W - sh)): rows[y * W + x] += t[j] * img[y * W + x + sh]
    out = [0.0] * (H * W)
    for y in range(H):
        acc = [0.0] * W
        for j in range(max(0, r - y), min(k, H + r - y)):
            for x in range(W): acc[x] += t[j] * rows[(y + j - r) * W + x]
        for x in range(W): out[y * W + x] = f32((img[y * W + x] - acc[x] + 1) / 2)
    return out

def tap_sum(t, w, exact):  # hf_tap_sum
    K = len(t); R = K // 2
    if exact:
        s = t[R] * w[R]
        for j in range(R): s = s + t[j] * (w[j] + w[K - 1 - j])
        return s
    s = 0.0
    for j in range(K): s = s + t[j] * w[j]
    return s

def warp(img, H, W, t, exact, mutant=None):  # hf_warp_body's loads, then hf_warp_rows for the 32 lanes
    K = len(t); R = K // 2
    v = [[img[y * W + lane] if y < H and lane < W else 0.0 for y in range(32)] for lane in range(32)]
    out = [None] * (H * W)
    hw = [[0.0] * K for _ in range(32)]
    for y in range(32 + R):
        hs = [0.0] * 32
        if y < H:
            g = [v[lane][min(y, 31)] for lane in range(32)]
            for lane in range(32):
                w = []
                for j in range(K):
                    src = lane + j - R
                    n = g[src & 31]
                    inside = 0 <= src < (W + 1 if mutant == 'edge' else W)
                    w.append(n if inside else 0.0)
                hs[lane] = tap_sum(t, w, exact)
        for lane in range(32):
            hw[lane] = hw[lane][1:] + [hs[lane]]
            yo = y - R + (1 if mutant == 'window' else 0)
            if 0 <= yo < H and lane < W:
                g0 = v[lane][max(yo, 0)] if mutant != 'gray' else v[lane][max(yo - 1, 0)]
                blur = tap_sum(t, hw[lane], exact)
                out[yo * W + lane] = f32((g0 - blur) * 0.5 + 0.5 if exact else ((g0 - blur) + 1.0) * 0.5)
    return out

def mismatches(mutant=None):
    random.seed(2)
    bad = 0
    for H, W in [(32, 32), (28, 28), (5, 17), (1, 1), (32, 3), (3, 32), (31, 30)]:
        for k, t in TABLES.items():
            img = [f32(random.randint(0, 255) / 255) for _ in range(H * W)]
            want = high_pass(img, H, W, t)
            for exact in (False, True):
                if warp(img, H, W, t, exact, mutant) != want:
                    bad += 1
                    if mutant is None: print(f"MISMATCH {H}x{W} k={k} exact={exact}")
    return bad

if __name__ == "__main__":
    if "--mutants" in sys.argv:
        missed = [m for m in ("edge", "window", "gray") if mismatches(m) == 0]
        print("MUTANTS MISSED: " + ", ".join(missed) if missed else "ALL MUTANTS CAUGHT")
        sys.exit(1 if missed else 0)
    bad = mismatches()
    print("all cases bit for bit" if bad == 0 else f"{bad} cases differ")
    sys.exit(1 if bad else 0)
