package frl.backend.cpu;

import frl.backend.BinaryOp;
import frl.backend.UnaryOp;

import java.lang.foreign.MemorySegment;

/**
 * The inner loops of the elementwise, reduction and softmax ops, over contiguous float32 runs of host memory.
 * Offsets and lengths count elements. Two implementations: Vector-API loops, and scalar loops that evaluate
 * the double-precision definitions of {@link UnaryOp} and {@link BinaryOp}. The Vector-API class is loaded
 * only when its module is present (through its factory, so that verifying this class never loads it).
 */
abstract sealed class Kernels permits ScalarKernels, VectorApiKernels {
    private static volatile Kernels active = VectorSupport.present() ? VectorApiKernels.create() : new ScalarKernels();

    /** The implementation the CPU ops use. */
    static Kernels active() { return active; }

    /** Makes the CPU ops use {@code k} (tests run both implementations); returns the one it replaces. */
    static Kernels use(Kernels k) {
        Kernels old = active;
        active = k;
        return old;
    }

    abstract String name();

    @Override public final String toString() { return name(); }

    /** y = f(x) over [0, n). */
    abstract void unary(UnaryOp op, MemorySegment x, MemorySegment y, long off, int n, double a, double b);

    /** dx = dy · f'(x, y) over [0, n). */
    abstract void unaryBackward(UnaryOp op, MemorySegment x, MemorySegment y, MemorySegment dy, MemorySegment dx, long off, int n, double a, double b);

    /** out = a op b over [0, n); an operand flagged {@code repeat} is the one value at its offset, used n times. */
    abstract void binary(BinaryOp op, MemorySegment a, long aOff, boolean aRepeat, MemorySegment b, long bOff, boolean bRepeat,
                         MemorySegment out, long outOff, int n);

    /**
     * out[r·n + i] = fma(a[r·n + i], mul[r % period], add[r % period]) for runs r0 ≤ r &lt; r1 of n elements: a binary
     * ADD, SUB or MUL of an [N, C, H, W] tensor and one value per channel, exactly (fma(a, 1, b) is a + b, and
     * fma(a, b, −0) is a·b, zeros' signs included).
     */
    abstract void fmaRuns(MemorySegment a, float[] mul, float[] add, int period, MemorySegment out, long r0, long r1, int n);

    /** y = alpha · x + beta over [0, n). */
    abstract void affine(MemorySegment x, MemorySegment y, long off, int n, float alpha, float beta);

    /** y += alpha · x over [0, n). */
    abstract void axpy(float alpha, MemorySegment x, MemorySegment y, long off, int n);

    /** y = max(z + bias, 0) over [0, n): one channel's run of Backend#biasRelu. */
    abstract void biasRelu(MemorySegment z, MemorySegment y, long off, int n, float bias);

    /** dz = dy where y &gt; 0, else 0, over [0, n); returns Σ dz in double (one channel's run of Backend#biasReluBackward). */
    abstract double reluBackwardSum(MemorySegment y, MemorySegment dy, MemorySegment dz, long off, int n);

    /** y[y1 + i] = elu(x[x0 + i]), y[y2 + i] = elu(−x[x0 + i]) for i &lt; n (alpha 1): one channel's run of Backend#concatElu. */
    abstract void concatElu(MemorySegment x, long x0, MemorySegment y, long y1, long y2, int n);

    /** dx[x0 + i] = dy[y1 + i]·elu'(x) − dy[y2 + i]·elu'(−x) for i &lt; n, elu' = 1 where its input &gt; 0, else its output + 1. */
    abstract void concatEluBackward(MemorySegment x, MemorySegment y, MemorySegment dy, MemorySegment dx, long x0, long y1, long y2, int n);

    /**
     * y[y0 + i] = res[y0 + i] + (h[a + i] + ba)·sigmoid(h[b + i] + bb) for i &lt; n (no res where null; a bias of −0 adds
     * nothing, exactly): one channel's run of Backend#gate, rounded where its composed ops round.
     */
    abstract void gate(MemorySegment h, long a, long b, float ba, float bb, MemorySegment res, MemorySegment y, long y0, int n);

    /** With s = sigmoid(h[b + i] + bb): dh[a + i] = dy·s, dh[b + i] = (dy·(h[a + i] + ba))·s(1 − s), dy at dy0 + i, for i &lt; n. */
    abstract void gateBackward(MemorySegment h, MemorySegment dy, MemorySegment dh, long a, long b, float ba, float bb, long dy0, int n);

    /** y = (a + ba) + (b + bb) over [off, off + n): one channel's run of Backend#biasedSum, each sum rounded to float. */
    abstract void biasedSum(MemorySegment a, float ba, MemorySegment b, float bb, MemorySegment y, long off, int n);

    /** y[y0 + i] = (xb[y0 + i] + h[t + i])·sigmoid(h[r + i] + 2) for i &lt; n: one channel's run of Backend#coupling. */
    abstract void coupling(MemorySegment xb, MemorySegment h, MemorySegment y, long y0, long t, long r, int n);

    /** With s = sigmoid(h[r + i] + 2) and g = dy·s: dxb = g, dh[t + i] = g, dh[r + i] = (dy·(xb + h[t + i]))·s(1 − s). */
    abstract void couplingBackward(MemorySegment xb, MemorySegment h, MemorySegment dy, MemorySegment dxb, MemorySegment dh, long x0, long t, long r, int n);

    /** Σ softplus(−(h[r + i] + 2)) for i &lt; n, in double (minus one channel's run of Backend#couplingLogdet). */
    abstract double couplingSoftplusSum(MemorySegment h, long r, int n);

    /** dh[t + i] = 0, dh[r + i] = g·sigmoid(−(h[r + i] + 2)) for i &lt; n (one channel's run of Backend#couplingLogdetBackward). */
    abstract void couplingLogdetBackward(MemorySegment h, MemorySegment dh, long t, long r, int n, float g);

    /**
     * PixelCNN++'s mixture (Backend#mixtureNll) over pixels [q0, q1) of one image whose planes hold hw pixels: x's C
     * planes from x0, the parameters' planes from p0, −log p into one plane from o0.
     */
    abstract void mixtureNll(MemorySegment x, long x0, MemorySegment p, long p0, MemorySegment out, long o0, int hw, int q0, int q1, int c, int m);

    /** Its backward over the same pixels: the parameters' gradients into planes from d0, from the gradient plane at g0. */
    abstract void mixtureNllBackward(MemorySegment x, long x0, MemorySegment p, long p0, MemorySegment g, long g0, MemorySegment dp, long d0,
                                     int hw, int q0, int q1, int c, int m);

    /** Σ x over [0, n), accumulated in double. */
    abstract double sum(MemorySegment x, long off, int n);

    /** acc[accOff + i] += x[off + i] for i in [0, n), in double. */
    abstract void accumulate(double[] acc, int accOff, MemorySegment x, long off, int n);

    // Softmax statistics. "Lanes" versions run across n independent positions (one class row of a block of
    // the inner axis); "row" versions reduce n contiguous classes of one position (inner size 1).

    /** m[i] = max(m[i], x[off + i]). */
    abstract void maxLanes(float[] m, MemorySegment x, long off, int n);

    /** s[i] += exp(x[off + i] − shift[i]). */
    abstract void sumExpLanes(float[] s, float[] shift, MemorySegment x, long off, int n);

    /** out[outOff + i] = exp(x[off + i] − shift[i]) · scale[i]. */
    abstract void expScaledLanes(MemorySegment x, long off, float[] shift, float[] scale, MemorySegment out, long outOff, int n);

    /** max of x over [0, n) (−∞ when n = 0). */
    abstract float maxRow(MemorySegment x, long off, int n);

    /** Σ exp(x − shift) over [0, n). */
    abstract double sumExpRow(MemorySegment x, long off, int n, float shift);

    /** out = exp(x − shift) · scale over [0, n). */
    abstract void expScaledRow(MemorySegment x, long off, float shift, float scale, MemorySegment out, long outOff, int n);

    /** Adam's update of one run of a parameter in place, each element in double and rounded once per stored value (see CpuOptim). */
    record AdamFactors(double beta1, double beta2, double weightDecay, double eps, double stepSize, double sqrtBc2) {}

    /** Both implementations round alike: the same IEEE double operations in the same order (no fused multiply-adds). */
    abstract void adam(MemorySegment p, MemorySegment g, MemorySegment m, MemorySegment v, long off, int n, AdamFactors f);
}
