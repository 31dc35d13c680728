package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.Shapes;
import frl.backend.UnaryOp;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.function.Function;

import static frl.backend.cuda.CudaVsCpu.CPU;
import static frl.backend.cuda.CudaVsCpu.assertClose;
import static frl.backend.cuda.CudaVsCpu.assertSameFloats;
import static frl.backend.cuda.CudaVsCpu.shape;
import static frl.backend.cuda.CudaVsCpu.uniform;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * fused.cu's kernels (CudaFused). On the host ({@link HostKernels}): bit for bit against what the composed ops compute
 * on the GPU (pointwise.cu's own unary kernels for the sigmoids, ELUs and softplus, then the same float sums and
 * products, each rounded once as a kernel rounds it), and against the CPU's fused ops. On a GPU: each fused op against
 * the composed ops (-Dfrl.cuda.fusedOps=composed), bit for bit (the log-determinant's sum within a float's rounding).
 * Single tensors [N, C, run] with their [N, 2C, run] partners: several images and channels, rank 2, one channel of odd
 * length, and more elements than a block.
 */
class CudaFusedTest {
    private static final Shape[] SHAPES = {shape(2, 3, 4, 5), shape(3, 5), shape(1, 4, 1, 7), shape(2, 40, 8, 8)};

    /** A single tensor's shape, its pair's, and random inputs: x and dy single, h and dyPair pairs, g per image, bias per pair channel. */
    private record Inputs(Shape pair, int n, float[] x, float[] h, float[] dy, float[] dyPair, float[] g, float[] bias) {
        static Inputs draw(Random r, Shape s) {
            int n = Math.toIntExact(s.numel());
            return new Inputs(Shapes.doubledChannels(s), n, uniform(r, n, -3, 3), uniform(r, 2L * n, -6, 6), uniform(r, n, -1, 1),
                    uniform(r, 2L * n, -1, 1), uniform(r, s.dim(0), -1, 1), uniform(r, 2L * s.dim(1), -1, 1));
        }
    }

    @Test void onTheHostTheKernelsGiveTheComposedKernelsBits() {
        try (HostKernels gpu = HostKernels.of("fused", "pointwise"); Scope sc = Scope.open()) {
            Random r = new Random(21);
            for (Shape s : SHAPES) {
                Inputs in = Inputs.draw(r, s);
                Shape p = in.pair;
                int n = in.n;
                float[] x = in.x, h = in.h, dy = in.dy, dyPair = in.dyPair, g = in.g, bias = in.bias;
                float[][] th = halves(h, s);
                String at = " " + s;

                float[] minusX = map(x, v -> -v), y = run(gpu, p, a -> CudaFused.launchConcatElu(a[0], a[1], s), x);
                assertSameFloats("concat-ELU" + at, y, join(unary(gpu, UnaryOp.ELU, x), unary(gpu, UnaryOp.ELU, minusX), s));
                float[][] eluGrads = halves(unaryBackward(gpu, UnaryOp.ELU, join(x, minusX, s), y, dyPair), s);
                assertSameFloats("concat-ELU backward" + at, run(gpu, s, a -> CudaFused.launchConcatEluBackward(a[0], a[1], a[2], a[3], s), x, y, dyPair),
                        zip(eluGrads[0], eluGrads[1], (u, v) -> u - v));

                float[] sig = unary(gpu, UnaryOp.SIGMOID, th[1]);
                assertSameFloats("gate" + at, run(gpu, s, a -> CudaFused.launchGate(a[0], 0L, 0L, a[1], s), h), zip(th[0], sig, (u, v) -> u * v));
                float[] dGate = unaryBackward(gpu, UnaryOp.SIGMOID, th[1], sig, zip(dy, th[0], (u, v) -> u * v));
                assertSameFloats("gate backward" + at, run(gpu, p, a -> CudaFused.launchGateBackward(a[0], 0L, a[1], a[2], s), h, dy),
                        join(zip(dy, sig, (u, v) -> u * v), dGate, s));

                float[] r2 = map(th[1], v -> v + 2f), s2 = unary(gpu, UnaryOp.SIGMOID, r2), u = zip(x, th[0], (a, b) -> a + b);
                assertSameFloats("coupling" + at, run(gpu, s, a -> CudaFused.launchCoupling(a[0], a[1], a[2], s), x, h), zip(u, s2, (a, b) -> a * b));
                float[] gs = zip(dy, s2, (a, b) -> a * b), dr = unaryBackward(gpu, UnaryOp.SIGMOID, s2, s2, zip(dy, u, (a, b) -> a * b));
                float[] both = run(gpu, 3 * n, a -> CudaFused.launchCouplingBackward(a[0], a[1], a[2], a[3], a[3] + 4L * n, s), x, h, dy);
                assertSameFloats("coupling backward dx_b" + at, java.util.Arrays.copyOf(both, n), gs);
                assertSameFloats("coupling backward dh" + at, java.util.Arrays.copyOfRange(both, n, 3 * n), join(gs, dr, s));

                float[] soft = unary(gpu, UnaryOp.SOFTPLUS, map(r2, v -> -v)), logdet = run(gpu, s.dim(0), a -> CudaFused.launchCouplingLogdet(a[0], a[1], s), h);
                int per = n / s.dim(0);
                for (int i = 0; i < s.dim(0); i++) {
                    double sum = 0;
                    for (int e = 0; e < per; e++) sum += soft[i * per + e];
                    float want = (float) -sum;
                    assertTrue(Math.abs(logdet[i] - want) <= Math.ulp(want), "coupling log-determinant" + at + " of image " + i + ": " + logdet[i] + ", the sum " + want);
                }
                float[] sigMinus = unary(gpu, UnaryOp.SIGMOID, map(r2, v -> -v)), dLogdet = new float[n];
                for (int i = 0; i < n; i++) dLogdet[i] = g[i / per] * sigMinus[i];
                assertSameFloats("coupling log-determinant backward" + at, run(gpu, p, a -> CudaFused.launchCouplingLogdetBackward(a[0], a[1], a[2], s), h, g),
                        join(new float[n], dLogdet, s));

                float[] z = h, withBias = new float[z.length];
                int run = per / s.dim(1);
                for (int i = 0; i < z.length; i++) withBias[i] = z[i] + bias[(i / run) % p.dim(1)];
                assertSameFloats("bias + ReLU" + at, run(gpu, p, a -> CudaFused.launchBiasRelu(a[0], a[1], a[2], p), z, bias), unary(gpu, UnaryOp.RELU, withBias));

                // the gate with its bias and the residual: the bias add, the gate and the residual add (pointwise.cu's adds round as Java's float sums)
                float[] gated = run(gpu, s, a -> CudaFused.launchGate(a[0], 0L, 0L, a[1], s), withBias);
                assertSameFloats("gate with its bias and residual" + at, run(gpu, s, a -> CudaFused.launchGate(a[0], a[1], a[2], a[3], s), h, bias, x),
                        zip(x, gated, (v, w) -> v + w));
                assertSameFloats("gate with its bias, backward" + at, run(gpu, p, a -> CudaFused.launchGateBackward(a[0], a[1], a[2], a[3], s), h, bias, dy),
                        run(gpu, p, a -> CudaFused.launchGateBackward(a[0], 0L, a[1], a[2], s), withBias, dy));
                int c = s.dim(1);
                float[] ba = java.util.Arrays.copyOf(bias, c), bb = java.util.Arrays.copyOfRange(bias, c, 2 * c), sum = new float[n];
                for (int i = 0; i < n; i++) sum[i] = (x[i] + ba[(i / run) % c]) + (dy[i] + bb[(i / run) % c]);
                assertSameFloats("biased sum" + at, run(gpu, s, a -> CudaFused.launchBiasedSum(a[0], a[1], a[2], a[3], a[4], s), x, ba, dy, bb), sum);
            }
        }
    }

    @Test void onTheHostTheKernelsMatchTheCpu() {
        try (HostKernels gpu = HostKernels.of("fused"); Scope sc = Scope.open()) {
            Random r = new Random(22);
            for (Shape s : SHAPES) {
                Inputs in = Inputs.draw(r, s);
                Shape p = in.pair;
                int n = in.n;
                float[] x = in.x, h = in.h, dy = in.dy, dyPair = in.dyPair, g = in.g, bias = in.bias;
                Tensor cx = CPU.fromHost(s, x), ch = CPU.fromHost(p, h), cdy = CPU.fromHost(s, dy), cy = CPU.concatElu(cx);
                String at = " " + s;
                assertClose("concat-ELU" + at, run(gpu, p, a -> CudaFused.launchConcatElu(a[0], a[1], s), x), cy.toFloats(), 1e-7);
                assertClose("concat-ELU backward" + at, run(gpu, s, a -> CudaFused.launchConcatEluBackward(a[0], a[1], a[2], a[3], s), x, cy.toFloats(), dyPair),
                        CPU.concatEluBackward(cx, cy, CPU.fromHost(p, dyPair)).toFloats(), 1e-7);
                Tensor cbias = CPU.fromHost(shape(p.dim(1)), bias);
                assertClose("gate" + at, run(gpu, s, a -> CudaFused.launchGate(a[0], 0L, 0L, a[1], s), h), CPU.gate(ch, null, null).toFloats(), 1e-7);
                assertClose("gate backward" + at, run(gpu, p, a -> CudaFused.launchGateBackward(a[0], 0L, a[1], a[2], s), h, dy),
                        CPU.gateBackward(ch, null, cdy).toFloats(), 1e-7);
                assertClose("gate with its bias and residual" + at, run(gpu, s, a -> CudaFused.launchGate(a[0], a[1], a[2], a[3], s), h, bias, x),
                        CPU.gate(ch, cbias, cx).toFloats(), 1e-7);
                assertClose("gate with its bias, backward" + at, run(gpu, p, a -> CudaFused.launchGateBackward(a[0], a[1], a[2], a[3], s), h, bias, dy),
                        CPU.gateBackward(ch, cbias, cdy).toFloats(), 1e-7);
                float[] ba = java.util.Arrays.copyOf(bias, s.dim(1)), bb = java.util.Arrays.copyOfRange(bias, s.dim(1), p.dim(1));
                assertClose("biased sum" + at, run(gpu, s, a -> CudaFused.launchBiasedSum(a[0], a[1], a[2], a[3], a[4], s), x, ba, dy, bb),
                        CPU.biasedSum(cx, CPU.fromHost(shape(s.dim(1)), ba), cdy, CPU.fromHost(shape(s.dim(1)), bb)).toFloats(), 1e-7);
                assertClose("coupling" + at, run(gpu, s, a -> CudaFused.launchCoupling(a[0], a[1], a[2], s), x, h), CPU.coupling(cx, ch).toFloats(), 1e-7);
                float[] both = run(gpu, 3 * n, a -> CudaFused.launchCouplingBackward(a[0], a[1], a[2], a[3], a[3] + 4L * n, s), x, h, dy);
                Tensor[] want = CPU.couplingBackward(cx, ch, cdy);
                assertClose("coupling backward dx_b" + at, java.util.Arrays.copyOf(both, n), want[0].toFloats(), 1e-7);
                assertClose("coupling backward dh" + at, java.util.Arrays.copyOfRange(both, n, 3 * n), want[1].toFloats(), 1e-7);
                assertClose("coupling log-determinant" + at, run(gpu, s.dim(0), a -> CudaFused.launchCouplingLogdet(a[0], a[1], s), h), CPU.couplingLogdet(ch).toFloats(), 1e-7);
                assertClose("coupling log-determinant backward" + at, run(gpu, p, a -> CudaFused.launchCouplingLogdetBackward(a[0], a[1], a[2], s), h, g),
                        CPU.couplingLogdetBackward(ch, CPU.fromHost(shape(s.dim(0)), g)).toFloats(), 1e-7);
                assertClose("bias + ReLU" + at, run(gpu, p, a -> CudaFused.launchBiasRelu(a[0], a[1], a[2], p), h, bias),
                        CPU.biasRelu(ch, CPU.fromHost(shape(p.dim(1)), bias)).toFloats(), 1e-7);
            }
        }
    }

    /**
     * biasReluBackward in one pass (reduce.cu's relu_backward_sum_to_blocks, then the partials added) against ReLU's
     * backward kernel and sumTo's own launches, bit for bit: dz and dbias. Where sumTo would add by threads (a channel
     * run shorter than a warp), the CUDA backend takes the composed ops.
     */
    @Test void onTheHostBiasReluBackwardGivesTheComposedKernelsBits() {
        try (HostKernels gpu = HostKernels.of("reduce", "pointwise"); Scope sc = Scope.open()) {
            Random r = new Random(25);
            for (Shape s : new Shape[] {shape(2, 40, 8, 8), shape(3, 5, 7, 9), shape(1, 3, 1, 2000)}) {
                CudaReduce.SumPlan p = CudaReduce.sumPlan("test", s, Shapes.channelAxis(s));
                assertTrue(p.blocks(), s + " adds by blocks");
                float[] y = uniform(r, s.numel(), -1, 1), dy = uniform(r, s.numel(), -1, 1);
                for (int i = 0; i < y.length; i += 7) y[i] = 0;   // y = 0: no gradient, as ReLU's backward
                long partial = gpu.floats(2L * p.chunks() * p.outN()).address();
                float[] fused = run(gpu, s.numel() + s.dim(1), a -> CudaReduce.launchReluBackwardSumTo(p, a[0], a[1], a[2], partial, a[2] + 4 * s.numel()), y, dy);
                float[] dz = run(gpu, s.numel(), a -> CudaPointwise.launchUnaryBackward(UnaryOp.RELU, a[0], a[0], a[1], a[2], s.numel(), 0, 0), y, dy);
                float[] dbias = run(gpu, s.dim(1), a -> CudaReduce.launchSumTo(p, a[0], partial, a[1]), dz);
                assertSameFloats("bias + ReLU backward dz " + s, java.util.Arrays.copyOf(fused, dz.length), dz);
                assertSameFloats("bias + ReLU backward dbias " + s, java.util.Arrays.copyOfRange(fused, dz.length, dz.length + s.dim(1)), dbias);
            }
            assertFalse(CudaReduce.sumPlan("test", shape(5, 3), shape(1, 3)).blocks(), "[5, 3]'s channels add by threads: the composed ops");
        }
    }

    /**
     * Weight normalisation's kernels on the host against its ops on the CPU (Backend's defaults): w, dv and dg for
     * PixelCNN++'s 2×3 filters, a 1×1's, rows longer than a block, and a row of one.
     */
    @Test void onTheHostWeightNormMatchesItsOps() {
        try (HostKernels gpu = HostKernels.of("fused"); Scope sc = Scope.open()) {
            Random r = new Random(24);
            for (Shape vs : new Shape[] {shape(80, 160, 2, 3), shape(5, 3, 1, 1), shape(3, 700), shape(4, 1)}) {
                int rows = vs.dim(0), len = Math.toIntExact(vs.numel() / rows);
                Shape gs = shape(rows, 1);
                float[] v = uniform(r, vs.numel(), -1, 1), g = uniform(r, rows, 0.5, 2), dw = uniform(r, vs.numel(), -1, 1);
                Tensor cv = CPU.fromHost(vs, v), cg = CPU.fromHost(gs, g);
                Tensor[] want = CPU.weightNormBackward(cv, cg, CPU.fromHost(vs, dw));
                String at = " " + vs;
                assertClose("weight norm" + at, run(gpu, vs, a -> CudaFused.launchWeightNorm(a[0], a[1], a[2], rows, len), v, g), CPU.weightNorm(cv, cg).toFloats(), 1e-12);
                float[] both = run(gpu, vs.numel() + rows, a -> CudaFused.launchWeightNormBackward(a[0], a[1], a[2], a[3], a[3] + 4 * vs.numel(), rows, len), v, g, dw);
                assertClose("weight norm dv" + at, java.util.Arrays.copyOf(both, len * rows), want[0].toFloats(), 1e-12);
                assertClose("weight norm dg" + at, java.util.Arrays.copyOfRange(both, len * rows, len * rows + rows), want[1].toFloats(), 1e-12);
            }
        }
    }

    /** The fused ops against the composed ones on a GPU, forward and backward, at PixelCNN++'s and Glow's sizes too. */
    @Tag("gpu")
    @Test void onTheGpuTheFusedOpsGiveTheComposedOpsBits() {
        Backend cuda = GpuTests.cudaOrSkip();
        try (Scope sc = Scope.open()) {
            Random r = new Random(23);
            for (Shape s : new Shape[] {shape(2, 3, 4, 5), shape(3, 5), shape(32, 80, 32, 32), shape(64, 6, 16, 16)}) {
                Shape p = Shapes.doubledChannels(s);
                Tensor x = cuda.fromHost(s, uniform(r, s.numel(), -3, 3)), h = cuda.fromHost(p, uniform(r, p.numel(), -6, 6));
                Tensor dy = cuda.fromHost(s, uniform(r, s.numel(), -1, 1)), dyPair = cuda.fromHost(p, uniform(r, p.numel(), -1, 1));
                Tensor g = cuda.fromHost(shape(s.dim(0)), uniform(r, s.dim(0), -1, 1)), bias = cuda.fromHost(shape(p.dim(1)), uniform(r, p.dim(1), -1, 1));
                String at = " " + s;
                both("concat-ELU" + at, be -> new Tensor[] {be.concatElu(x)});
                Tensor y = cuda.concatElu(x);
                both("concat-ELU backward" + at, be -> new Tensor[] {be.concatEluBackward(x, y, dyPair)});
                both("gate" + at, be -> new Tensor[] {be.gate(h, null, null), be.gateBackward(h, null, dy)});
                both("gate with its bias and residual" + at, be -> new Tensor[] {be.gate(h, bias, x), be.gateBackward(h, bias, dy)});
                Tensor ba = cuda.narrow(bias, 0, 0, s.dim(1)), bb = cuda.narrow(bias, 0, s.dim(1), s.dim(1));
                both("biased sum" + at, be -> new Tensor[] {be.biasedSum(x, ba, dy, bb)});
                both("coupling" + at, be -> {
                    Tensor[] grads = be.couplingBackward(x, h, dy);
                    return new Tensor[] {be.coupling(x, h), grads[0], grads[1], be.couplingLogdetBackward(h, g)};
                });
                Tensor logdet = cuda.couplingLogdet(h), composed = Switches.with("frl.cuda.fusedOps", "composed", () -> cuda.couplingLogdet(h));
                assertClose("coupling log-determinant" + at, logdet, composed, 1e-12);
                both("bias + ReLU" + at, be -> new Tensor[] {be.biasRelu(h, bias)});
                Tensor yr = cuda.biasRelu(h, bias);
                both("bias + ReLU backward" + at, be -> be.biasReluBackward(yr, dyPair));
            }
            Shape vs = shape(160, 160, 2, 3), gs = shape(160, 1, 1, 1);   // PixelCNN++'s filters, weight-normalised
            float[] v = uniform(r, vs.numel(), -1, 1), g = uniform(r, 160, 0.5, 2), dw = uniform(r, vs.numel(), -1, 1);
            Tensor[] got = cuda.weightNormBackward(cuda.fromHost(vs, v), cuda.fromHost(gs, g), cuda.fromHost(vs, dw));
            Tensor[] want = CPU.weightNormBackward(CPU.fromHost(vs, v), CPU.fromHost(gs, g), CPU.fromHost(vs, dw));
            assertClose("weight norm", cuda.weightNorm(cuda.fromHost(vs, v), cuda.fromHost(gs, g)), CPU.weightNorm(CPU.fromHost(vs, v), CPU.fromHost(gs, g)), 1e-12);
            assertClose("weight norm dv", got[0], want[0], 1e-12);
            assertClose("weight norm dg", got[1], want[1], 1e-12);
            var e = assertThrows(IllegalArgumentException.class, () -> cuda.gate(cuda.full(shape(2, 3), 0), null, null));
            assertEquals("gate: expected [N, 2C, ...], got [2, 3]", e.getMessage());
        }
    }

    /** The op's tensors with the fused kernels and with -Dfrl.cuda.fusedOps=composed, bit for bit. */
    private static void both(String what, Function<Backend, Tensor[]> op) {
        Backend cuda = GpuTests.cudaOrSkip();
        Tensor[] fused = op.apply(cuda), composed = Switches.with("frl.cuda.fusedOps", "composed", () -> op.apply(cuda));
        for (int i = 0; i < fused.length; i++) {
            assertEquals(composed[i].shape(), fused[i].shape(), what + ": shape of result " + i);
            assertSameFloats(what + ", result " + i, CudaVsCpu.floats(fused[i]), CudaVsCpu.floats(composed[i]));
        }
    }

    /** The host kernels' result: inputs copied to host blocks, an output of outFloats (NaN until written). */
    private static float[] run(HostKernels gpu, long outFloats, java.util.function.Consumer<long[]> kernel, float[]... inputs) {
        long[] at = new long[inputs.length + 1];
        for (int i = 0; i < inputs.length; i++) at[i] = gpu.floats(inputs[i]).address();
        MemorySegment out = gpu.floats(CudaSubPixelTest.Host.unwritten(outFloats));
        at[inputs.length] = out.address();
        kernel.accept(at);
        return out.toArray(ValueLayout.JAVA_FLOAT);
    }

    private static float[] run(HostKernels gpu, Shape out, java.util.function.Consumer<long[]> kernel, float[]... inputs) {
        return run(gpu, out.numel(), kernel, inputs);
    }

    /** pointwise.cu's unary kernel on the host (ELU with alpha 1). */
    private static float[] unary(HostKernels gpu, UnaryOp op, float[] x) {
        return run(gpu, x.length, a -> CudaPointwise.launchUnary(op, a[0], a[1], x.length, 1, 0), x);
    }

    private static float[] unaryBackward(HostKernels gpu, UnaryOp op, float[] x, float[] y, float[] dy) {
        return run(gpu, x.length, a -> CudaPointwise.launchUnaryBackward(op, a[0], a[1], a[2], a[3], x.length, 1, 0), x, y, dy);
    }

    /** A [N, 2C, run] tensor's two halves, each [N, C, run] as single. */
    private static float[][] halves(float[] pair, Shape single) {
        int n = single.dim(0), block = pair.length / Math.max(1, 2 * n);
        float[][] out = {new float[pair.length / 2], new float[pair.length / 2]};
        for (int i = 0; i < n; i++) {
            System.arraycopy(pair, 2 * i * block, out[0], i * block, block);
            System.arraycopy(pair, (2 * i + 1) * block, out[1], i * block, block);
        }
        return out;
    }

    private static float[] join(float[] first, float[] second, Shape single) {
        int n = single.dim(0), block = first.length / Math.max(1, n);
        float[] out = new float[2 * first.length];
        for (int i = 0; i < n; i++) {
            System.arraycopy(first, i * block, out, 2 * i * block, block);
            System.arraycopy(second, i * block, out, (2 * i + 1) * block, block);
        }
        return out;
    }

    private interface FloatOp { float apply(float a); }

    private interface FloatOp2 { float apply(float a, float b); }

    private static float[] map(float[] a, FloatOp f) {
        float[] out = new float[a.length];
        for (int i = 0; i < a.length; i++) out[i] = f.apply(a[i]);
        return out;
    }

    private static float[] zip(float[] a, float[] b, FloatOp2 f) {
        float[] out = new float[a.length];
        for (int i = 0; i < a.length; i++) out[i] = f.apply(a[i], b[i]);
        return out;
    }
}
