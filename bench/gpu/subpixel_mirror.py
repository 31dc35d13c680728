"""A Python mirror of subpixel_gather / subpixel_gather_lines / subpixel_gather_parts and subpixel_sum_phases / subpixel_sum_phases_s2t2
(src/main/cuda/subpixel.cu) and of the TF32 split (tf32.cu) that simulates every (block, thread) of the launch geometry
CudaSubPixel uses, grid-stride loops included, and compares the batched kernels with the plain ones (verified on a
GPU): values bit for bit, each element written once, no read or write out of range. Launches over planes run both one
plane per block (verified) and packed (Kernel.planeGrid under -Dfrl.cuda.planes=packed). For index changes made
without a GPU.
    python3 bench/gpu/subpixel_mirror.py              the cases
    python3 bench/gpu/subpixel_mirror.py --mutants    planted bugs, each of which must be caught (needs numpy)"""
import numpy as np, sys

BLOCK = 256
LINES = 8
SMS = 132  # H100/H200

def ceil_div(a, b): return -((-a) // b)
def floor_div(a, b): return a // b

def phases(h, w, sh, sw, padH, padW):  # ConvGeometry.subPixelPhases
    out = []
    for ry in range(sh):
        qy0 = max(0, ceil_div(padH - ry, sh)); qh = floor_div(h - 1 + padH - ry, sh) - qy0 + 1
        for rx in range(sw):
            qx0 = max(0, ceil_div(padW - rx, sw)); qw = floor_div(w - 1 + padW - rx, sw) - qx0 + 1
            if qh > 0 and qw > 0: out.append((ry, rx, qy0, qh, qx0, qw))
    return out

def out_size(n, k, s, p):
    o = floor_div(n + 2 * p - k, s) + 1
    assert o >= 1
    return o

def ranges(ph, rows, s):  # Dims.ranges
    out = [0] * (2 * s)
    for (ry, rx, qy0, qh, qx0, qw) in ph:
        r = ry if rows else rx
        out[2 * r] = qy0 if rows else qx0
        out[2 * r + 1] = qh if rows else qw
    return out

def plane_grid(per_plane, planes, packed):  # Kernel.planeGrid: (gx, gy, bx, by)
    pow2 = 1 if per_plane <= 1 else 1 << (per_plane - 1).bit_length()
    bx = min(BLOCK, pow2) if packed else BLOCK; by = BLOCK // bx
    return max(1, ceil_div(per_plane, bx)), max(1, min(ceil_div(planes, by), 65535)), bx, by

def threads(gx, gy, bx, by):
    """Every thread of a launch over planes as (FRL_PLANE_FIRST, FRL_PLANE_STRIDE, first element, element stride)."""
    for byi in range(gy):
        for ty in range(by):
            for bxi in range(gx):
                for tx in range(bx):
                    yield byi * by + ty, gy * by, bxi * bx + tx, bx * gx

def cdiv_trunc(a, b):  # C integer division (operands here are non-negative anyway)
    assert a >= 0 and b > 0
    return a // b

# ---------------------------------------------------------------- gather
def gather_ref(dy, colsN, N, K, oh, ow, th, tw, qy0, qh, qx0, qw, imgStride, rowStride, geo):
    cols = np.full(colsN, np.float32(np.nan), np.float32); cnt = np.zeros(colsN, np.int64)
    q, taps = qh * qw, th * tw; depth = K * taps
    for first_plane, plane_stride, first_col, col_stride in threads(*geo):
                line = first_plane
                while line < N * depth:
                    img = line // depth; row = line - img * depth; o = row // taps; t = (row - o * taps) // tw; u = row % tw
                    plane = (img * K + o) * oh * ow
                    out = img * imgStride + row * rowStride
                    col = first_col
                    while col < q:
                        a = col // qw; b = col - a * qw; oy = qy0 + a - t; ox = qx0 + b - u
                        if 0 <= oy < oh and 0 <= ox < ow:
                            idx = plane + oy * ow + ox; assert 0 <= idx < dy.size; v = dy[idx]
                        else: v = np.float32(0)
                        assert 0 <= out + col < colsN, ("ref write out of range", out + col)
                        cols[out + col] = v; cnt[out + col] += 1
                        col += col_stride
                    line += plane_stride
    return cols, cnt

def gather_lines(dy, colsN, N, K, oh, ow, th, tw, qy0, qh, qx0, qw, imgStride, rowStride, geo, bad_reads, parts=None, partStride=0):
    """subpixel_gather_lines, or with parts (letters 'b'/'s') subpixel_gather_parts: the parts marked as the TF32
    mirror marks them (big = the value, small = -(the value) - 0.5), the k-th at + k·partStride."""
    cols = np.full(colsN, np.float32(np.nan), np.float32); cnt = np.zeros(colsN, np.int64); oob = []
    q, taps = qh * qw, th * tw; depth = K * taps; lines = N * depth
    for first_plane, plane_stride, first_col, col_stride in threads(*geo):
                first = first_plane * LINES
                while first < lines:
                    col = first_col
                    while col < q:
                        a = col // qw; b = col - a * qw
                        v = [None] * LINES
                        img = first // depth; row = first - img * depth; o = row // taps; t = (row - o * taps) // tw; u = row % tw
                        for jj in range(LINES):
                            oy = qy0 + a - t; ox = qx0 + b - u
                            if first + jj < lines and 0 <= oy < oh and 0 <= ox < ow:
                                idx = (img * K + o) * oh * ow + oy * ow + ox
                                if not (0 <= idx < dy.size): bad_reads.append(idx); v[jj] = np.float32(np.nan)
                                else: v[jj] = dy[idx]
                            else: v[jj] = np.float32(0)
                            u += 1
                            if u == tw:
                                u = 0; t += 1
                                if t == th:
                                    t = 0; o += 1
                                    if o == K: o = 0; img += 1
                        img = first // depth; row = first - img * depth
                        for jj in range(LINES):
                            if first + jj < lines:
                                at = img * imgStride + row * rowStride + col
                                for k, letter in enumerate(parts or "-"):
                                    val = v[jj] if letter != "s" else np.float32(-v[jj] - np.float32(0.5))
                                    if 0 <= at + k * partStride < colsN: cols[at + k * partStride] = val; cnt[at + k * partStride] += 1
                                    else: oob.append(at + k * partStride)
                            row += 1
                            if row == depth: row = 0; img += 1
                        col += col_stride
                    first += plane_stride * LINES
    return cols, cnt, oob

def check_gather(name, N, K, h, w, kh, kw, s, pad, caps=(None, 3, 5), xcaps=(None,)):
    oh, ow = out_size(h, kh, s, pad), out_size(w, kw, s, pad)
    th, tw = kh // s, kw // s; depth = K * th * tw
    rng = np.random.default_rng(1)
    dy = rng.standard_normal(N * K * oh * ow).astype(np.float32)
    dy[::7] = -0.0  # signed zeros must survive bitwise
    ph = phases(h, w, s, s, pad, pad)
    qmax = ceil_div(h, s) * ceil_div(w, s)
    colsN = depth * N * qmax + 300  # the scratch block (depth·nqMax) plus a guard
    ok = True; msgs = []
    for (ry, rx, qy0, qh, qx0, qw) in ph:
        q = qh * qw; lines = N * depth
        # the reference: subpixel_gather launched one plane per block (verified on a GPU); then subpixel_gather (new
        # geometry) and subpixel_gather_lines under both geometries, each with the grid capped as well (striding)
        gR = plane_grid(q, lines, False)
        r, rc = gather_ref(dy, colsN, N, K, oh, ow, th, tw, qy0, qh, qx0, qw, q, N * q, gR)
        for packed, cap, xcap in [(p, c, x) for p in (False, True) for c in caps for x in xcaps]:
                gx, gy, bx, by = plane_grid(q, lines, packed); gxN, gyN, _, _ = plane_grid(q, ceil_div(lines, LINES), packed)
                gx, gxN = (min(gx, xcap), min(gxN, xcap)) if xcap else (gx, gxN)
                if cap: gy, gyN = min(gy, cap), min(gyN, cap)
                n0, n0c = gather_ref(dy, colsN, N, K, oh, ow, th, tw, qy0, qh, qx0, qw, q, N * q, (gx, gy, bx, by))
                bad = []
                n, nc, oob = gather_lines(dy, colsN, N, K, oh, ow, th, tw, qy0, qh, qx0, qw, q, N * q, (gxN, gyN, bx, by), bad)
                refw = rc > 0
                e = []
                if (rc[refw] != 1).any(): e.append("ref writes some element %d times" % rc.max())
                if refw.sum() != depth * N * q: e.append("ref wrote %d != depth*N*q %d" % (refw.sum(), depth * N * q))
                if oob: e.append("new: out-of-range writes %s" % oob[:5])
                if bad: e.append("new: out-of-range dy reads %s" % bad[:5])
                if (nc[refw] != 1).any():
                    i = int(np.argmax(nc[refw] != 1)); e.append("new writes ref element %d %d times" % (np.flatnonzero(refw)[i], nc[refw][i]))
                if (nc[~refw] != 0).any(): e.append("new writes outside ref: idx %d" % np.flatnonzero(nc * ~refw)[0])
                diff = np.flatnonzero(r.view(np.uint32)[refw] != n.view(np.uint32)[refw])
                if diff.size:
                    i = np.flatnonzero(refw)[diff[0]]
                    e.append("value mismatch at cols[%d]: ref %r new %r (%d mismatches)" % (i, r[i], n[i], diff.size))
                if not np.array_equal(rc, n0c) or not np.array_equal(r.view(np.uint32), n0.view(np.uint32)):
                    e.append("subpixel_gather differs under this geometry")
                # subpixel_gather_parts "bsb" against the reference's cols split (tf32_parts' rows depth, cols N·q)
                ps = depth * N * q
                pp, pc, poob = gather_lines(dy, 3 * ps + 300, N, K, oh, ow, th, tw, qy0, qh, qx0, qw, q, N * q, (gxN, gyN, bx, by), bad, "bsb", ps)
                want = np.full(3 * ps + 300, np.float32(np.nan), np.float32); wc = np.zeros(3 * ps + 300, np.int64)
                src = r[:ps]
                for k, letter in enumerate("bsb"):
                    want[k * ps:(k + 1) * ps] = src if letter == "b" else (-src - np.float32(0.5)).astype(np.float32); wc[k * ps:(k + 1) * ps] += 1
                if poob or not np.array_equal(pc, wc) or not np.array_equal(np.nan_to_num(pp, nan=-1e30), np.nan_to_num(want, nan=-1e30)):
                    e.append("subpixel_gather_parts differs from the gather then the split")
                tag = "phase(%d,%d) q=%dx%d block %dx%d gx=%d gy=%d gyLines=%d" % (ry, rx, qh, qw, bx, by, gx, gy, gyN)
                if e: ok = False; msgs.append(tag + ": " + "; ".join(e))
    print("GATHER %-58s %s  phases=%s" % (name, "PASS" if ok else "FAIL", [(p[2], p[3], p[4], p[5]) for p in ph]))
    for m in msgs[:6]: print("   ", m)
    return ok

# ---------------------------------------------------------------- sum of phases
def sum_kernel(variant, outs, n_y, N, K, oh, ow, th, tw, sh, sw, slot, imgStride, rowStride, rows, cols, grid):
    y = np.full(n_y, np.float32(np.nan), np.float32); cnt = np.zeros(n_y, np.int64); bad = []
    total = N * K * oh * ow
    def load(idx):
        if not (0 <= idx < outs.size): bad.append(idx); return np.float32(np.nan)
        return outs[idx]
    for bx in range(grid):
        for tx in range(BLOCK):
            i = bx * BLOCK + tx
            while i < total:
                plane = i // (oh * ow); img, o, oy, ox = plane // K, plane % K, (i // ow) % oh, i % ow
                s = np.float32(0)
                if variant == "ref":
                    for ry in range(sh):
                        qy0, qh = rows[2 * ry], rows[2 * ry + 1]
                        for rx in range(sw):
                            qx0, qw = cols[2 * rx], cols[2 * rx + 1]
                            base = (ry * sw + rx) * slot
                            for t in range(th):
                                a = oy + t - qy0
                                if a < 0 or a >= qh: continue
                                for u in range(tw):
                                    b = ox + u - qx0
                                    if b < 0 or b >= qw: continue
                                    row = (o * th + t) * tw + u
                                    s = np.float32(s + load(base + (img * imgStride + row * rowStride) * (qh * qw) + a * qw + b))
                else:
                    v = [None] * 16
                    for r in range(4):
                        qy0, qh, qx0, qw = rows[2 * (r >> 1)], rows[2 * (r >> 1) + 1], cols[2 * (r & 1)], cols[2 * (r & 1) + 1]
                        base = r * slot
                        for tu in range(4):
                            t, u = tu >> 1, tu & 1; a, b = oy + t - qy0, ox + u - qx0
                            row = (o * 2 + t) * 2 + u
                            v[4 * r + tu] = load(base + (img * imgStride + row * rowStride) * (qh * qw) + a * qw + b) \
                                if (0 <= a < qh and 0 <= b < qw) else np.float32(0)
                    for j in range(16): s = np.float32(s + v[j])
                y[i] = s; cnt[i] += 1
                i += BLOCK * grid
    return y, cnt, bad

def check_sum(name, N, K, h, w, s=2, pad=1, caps=(None, 1, 3)):
    kh = kw = 4; th = tw = 2
    oh, ow = out_size(h, kh, s, pad), out_size(w, kw, s, pad)
    ph = phases(h, w, s, s, pad, pad)
    depth = K * th * tw; qmax = ceil_div(h, s) * ceil_div(w, s); slot = depth * N * qmax
    rows, cols = ranges(ph, True, s), ranges(ph, False, s)
    rng = np.random.default_rng(2)
    outs = (rng.standard_normal(s * s * slot) * 10).astype(np.float32)
    outs[::5] = -0.0
    n = N * K * oh * ow
    ok = True; msgs = []
    for cap in caps:
        grid = max(1, min(ceil_div(n, BLOCK), 32 * SMS)); grid = min(grid, cap) if cap else grid
        r, rc, rb = sum_kernel("ref", outs, n, N, K, oh, ow, th, tw, s, s, slot, 1, N, rows, cols, grid)
        v, vc, vb = sum_kernel("new", outs, n, N, K, oh, ow, th, tw, s, s, slot, 1, N, rows, cols, grid)
        e = []
        if rb or vb: e.append("out-of-range reads ref %s new %s" % (rb[:3], vb[:3]))
        if (rc != 1).any() or (vc != 1).any(): e.append("y not written exactly once")
        d = np.flatnonzero(r.view(np.uint32) != v.view(np.uint32))
        if d.size:
            i = d[0]; hard = np.flatnonzero(r != v)
            e.append("y[%d]: ref %r new %r (%d bit diffs, %d value diffs)" % (i, r[i], v[i], d.size, hard.size))
        if e: ok = False; msgs.append("grid=%d: " % grid + "; ".join(e))
    print("SUM    %-58s %s  oh,ow=%d,%d rows=%s cols=%s" % (name, "PASS" if ok else "FAIL", oh, ow, rows, cols))
    for m in msgs[:6]: print("   ", m)
    return ok

def tf32_parts(variant, src, rows, cols, parts, small_mask, part_stride, row_stride, dst_n, packed=False):
    """tf32_parts (variant 1) or tf32_parts4 (4) with the grid CudaSubPixel.GPU.tf32Parts launches; the parts are
    marked, not rounded: big = the value, small = -(the value) - 0.5 (the rounding is the same function in both)."""
    dst = np.full(dst_n, np.nan); cnt = np.zeros(dst_n, np.int64)
    for first_row, row_step, first_col, col_step in threads(*plane_grid(cols // variant, rows, packed)):  # Kernel.launchPlanes
                r = first_row
                while r < rows:
                    c = first_col
                    while c < cols // variant:
                        for i in range(variant):
                            col = c * variant + i
                            x = src[r * cols + col]
                            for j in range(parts):
                                at = j * part_stride + r * row_stride + col
                                dst[at] = -x - 0.5 if (small_mask >> j) & 1 else x; cnt[at] += 1
                        c += col_step
                    r += row_step
    return dst, cnt


def check_tf32_parts(name, rows, cols, letters, part_stride, row_stride):
    mask = sum(1 << j for j, p in enumerate(letters) if p == "s")
    n = (len(letters) - 1) * part_stride + (rows - 1) * row_stride + cols + 64
    src = np.arange(rows * cols, dtype=np.float64)
    a, ca = tf32_parts(1, src, rows, cols, len(letters), mask, part_stride, row_stride, n)
    ok = (ca <= 1).all()
    for variant, packed in [(1, True), (4, False), (4, True)]:
        b, cb = tf32_parts(variant, src, rows, cols, len(letters), mask, part_stride, row_stride, n, packed)
        ok = ok and np.array_equal(ca, cb) and np.array_equal(np.nan_to_num(a, nan=-1e30), np.nan_to_num(b, nan=-1e30))
    print("TF32   %-58s %s" % (name, "PASS" if ok else "FAIL"))
    return ok


def check_plane_loops(name, per_plane, planes, caps=(None, 1, 3)):
    """FRL_PLANES × FRL_PLANE_ELEMENTS (subpixel_scatter, subpixel_gather_pixels, the FFT steps) visit every (plane,
    element) exactly once under both geometries, the grid capped too."""
    ok = True
    for packed in (False, True):
        for cap in caps:
            gx, gy, bx, by = plane_grid(per_plane, planes, packed)
            if cap: gy = min(gy, cap)
            seen = np.zeros((planes, per_plane), np.int64)
            for first_plane, plane_stride, first_e, e_stride in threads(gx, gy, bx, by):
                for plane in range(first_plane, planes, plane_stride):
                    for e in range(first_e, per_plane, e_stride): seen[plane, e] += 1
            ok = ok and (seen == 1).all()
    print("PLANES %-58s %s" % (name, "PASS" if ok else "FAIL"))
    return ok


def cases():
    res = []
    res.append(check_plane_loops("16 elements × 100 planes", 16, 100))
    res.append(check_plane_loops("1 element × 300 planes", 1, 300))
    res.append(check_plane_loops("17 elements × 33 planes", 17, 33))
    res.append(check_plane_loops("600 elements × 5 planes", 600, 5))
    # small phases, as in the VAE's middle layers (x 8×8: phases of 4×4 pixels; x 2×2: of one pixel)
    res.append(check_gather("x 8x8 p1 (q=16) N=3 K=5", 3, 5, 8, 8, 4, 4, 2, 1))
    res.append(check_gather("x 2x2 p1 (q=1) N=4 K=9", 4, 9, 2, 2, 4, 4, 2, 1))
    res.append(check_sum("x 8x8 p1 (q=16) N=3 K=5", 3, 5, 8, 8))
    res.append(check_tf32_parts("bs 40x16 (short rows)", 40, 16, "bs", 40 * 16, 16))
    # gather: x [N, C, h, w] large, dy [N, K, oh, ow] small; kernel 4x4, stride 2
    res.append(check_gather("VAE last layer N=2 K=3 x32x32 (dy 16x16) p1", 2, 3, 32, 32, 4, 4, 2, 1))
    res.append(check_gather("odd x 7x9 p1 N=2 K=3", 2, 3, 7, 9, 4, 4, 2, 1))
    res.append(check_gather("x 1x9 p2 (phase ry=1 empty) N=3 K=1", 3, 1, 1, 9, 4, 4, 2, 2))
    res.append(check_gather("N*depth=3*5*4=60 (not %8) x 7x9 p1", 3, 5, 7, 9, 4, 4, 2, 1))
    res.append(check_gather("N*depth=1*1*4=4 (<8) x 5x5 p1", 1, 1, 5, 5, 4, 4, 2, 1))
    res.append(check_gather("phase 20x20 q=400 x40x40 p1 N=3 K=3 (+gx cap 1)", 3, 3, 40, 40, 4, 4, 2, 1, xcaps=(None, 1)))
    res.append(check_gather("phases 21x20/20x20 x41x39 p1 N=1 K=2", 1, 2, 41, 39, 4, 4, 2, 1))
    res.append(check_gather("stride 3 kernel 6x3 (th=2,tw=1) x 10x11 p1", 2, 3, 10, 11, 6, 3, 3, 1))
    # sum: conv2d output y [N, K, oh, ow]
    res.append(check_sum("VAE last layer N=2 K=3 x32x32 -> 16x16 p1", 2, 3, 32, 32))
    res.append(check_sum("odd x 7x9 p1 N=2 K=3", 2, 3, 7, 9))
    res.append(check_sum("x 1x9 p2 (phase ry=1 empty) N=3 K=2", 3, 2, 1, 9, pad=2))
    res.append(check_sum("x 9x1 p2 (phase rx=1 empty) N=2 K=3", 2, 3, 9, 1, pad=2))
    res.append(check_sum("phase 20x20 x40x40 p1 N=1 K=2", 1, 2, 40, 40))
    res.append(check_sum("x41x39 p1 N=1 K=3", 1, 3, 41, 39))
    res.append(check_sum("x 8x8 p0 N=2 K=5", 2, 5, 8, 8, pad=0))
    # the TF32 splits of the plans: x_r into [x_b; x_s], cols stacked [b; s; b] along the inner size, the weights
    res.append(check_tf32_parts("bs 6x1040 (x_r [C, N·q], rows stacked)", 6, 1040, "bs", 6 * 1040, 1040))
    res.append(check_tf32_parts("bsb 5x1024 (cols, three copies)", 5, 1024, "bsb", 5 * 1024, 1024))
    res.append(check_tf32_parts("bbs 8x16 ([R·C, 3·depth], interleaved)", 8, 16, "bbs", 16, 48))
    print("ALL PASS" if all(res) else "SOME FAIL")


MUTANTS = [("first += plane_stride * LINES", "first += plane_stride"),
           ("val = v[jj] if letter != \"s\" else", "val = v[jj] if letter != \"b\" else"),
           ("yield byi * by + ty,", "yield byi * by,"),
           ("if first + jj < lines:", "if True:"),
           ("if row == depth: row = 0; img += 1", "if row == depth: row = 0"),
           ("if o == K: o = 0; img += 1", "if o == K: o = 0"),
           ("row = (o * 2 + t) * 2 + u", "row = (o * 2 + u) * 2 + t"),
           ("qx0, qw = rows[2 * (r >> 1)], rows[2 * (r >> 1) + 1], cols[2 * (r & 1)], cols[2 * (r & 1) + 1]",
            "qx0, qw = rows[2 * (r & 1)], rows[2 * (r & 1) + 1], cols[2 * (r >> 1)], cols[2 * (r >> 1) + 1]"),
           ("for j in range(16): s = np.float32(s + v[j])", "for j in reversed(range(16)): s = np.float32(s + v[j])"),
           ("col = c * variant + i", "col = c + i")]


def mutants():
    """Each planted bug must make some case fail, or the mirror could not catch it."""
    src = open(__file__).read()
    caught = []
    for a, b in MUTANTS:
        assert src.count(a) >= 1, a
        ns = {"__name__": "mutant"}
        exec(src.replace(a, b, 1), ns)
        r = [ns["check_gather"]("odd 7x9", 3, 5, 7, 9, 4, 4, 2, 1), ns["check_gather"]("N*depth=4", 1, 1, 5, 5, 4, 4, 2, 1),
             ns["check_sum"]("odd 7x9", 2, 3, 7, 9), ns["check_sum"]("x41x39", 1, 3, 41, 39),
             ns["check_tf32_parts"]("bs", 6, 1040, "bs", 6 * 1040, 1040)]
        caught.append(not all(r))
        print("MUTANT", b, "->", "caught" if caught[-1] else "NOT caught")
    print("ALL MUTANTS CAUGHT" if all(caught) else "SOME MUTANT NOT CAUGHT")



if __name__ == "__main__":
    mutants() if "--mutants" in sys.argv[1:] else cases()
