package frl.cli;

import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.BinaryOp;
import frl.backend.Backends;
import frl.backend.ConvGeometry;
import frl.backend.Rng;
import frl.backend.Shift;
import frl.freq.HighPass;
import frl.io.Json;
import frl.nn.ActNormInvConv;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * Times the hot ops of the FRL-VAE through the backend interface at the CIFAR config's sizes (batch 64) and
 * prints each as a JSON line with GB/s (memory-bound ops, bytes read + written) or GFLOP/s (convolutions,
 * GEMM), next to the copy bandwidth measured in the same run: the floor every memory-bound op is held to.
 */
@Command(name = "bench-kernels", mixinStandardHelpOptions = true, description = "Time the engine's hot ops (GB/s, GFLOP/s) on one backend.")
final class KernelBenchCommand implements Callable<Integer> {
    @Mixin RunOptions run;
    @Option(names = "--repeats", defaultValue = "20", description = "Timed calls per op; the median is reported. Default: ${DEFAULT-VALUE}.") int repeats;
    @Option(names = "--batch", defaultValue = "64", description = "Batch of the VAE-shaped ops. Default: ${DEFAULT-VALUE}.") int batch;
    @Option(names = "--elements", defaultValue = "67108864",
            description = "Floats of the plain memory-bound rows (copy, add, fill, exp): 256 MiB by default, past any cache. Default: ${DEFAULT-VALUE}.")
    int elements;

    private Backend be;

    @Override public Integer call() {
        if (repeats < 1 || batch < 2 || elements < 1)
            throw new IllegalArgumentException("need --repeats ≥ 1, --batch ≥ 2 (batch norm) and --elements ≥ 1; got " + repeats + ", " + batch + ", " + elements);
        be = Backends.select(run.device);
        Rng rng = new Rng(run.seed);
        int n = batch;
        try (Scope scope = Scope.open()) {
            Tensor big = be.uniform(Shape.of(elements), -1, 1, rng), big2 = be.uniform(big.shape(), 0.5, 1, rng), out = be.empty(big.shape());
            bytes("copy", big.shape(), 8L * big.numel(), () -> be.copyInto(big, out));
            bytes("add", big.shape(), 12L * big.numel(), () -> be.binary(BinaryOp.ADD, big, big2).close());
            bytes("normal fill", big.shape(), 4L * big.numel(), () -> be.normal(big.shape(), 0, 1, rng).close());
            bytes("unary exp", big.shape(), 8L * big.numel(), () -> be.unary(frl.backend.UnaryOp.EXP, big, 0, 0).close());
            Tensor act = be.uniform(Shape.of(n, 128, 16, 16), -1, 1, rng), chan = be.uniform(Shape.of(1, 128, 1, 1), 0.5, 1, rng);
            bytes("concat channels", Shape.of(n, 256, 16, 16), 16L * act.numel(), () -> be.concat(new Tensor[] {act, act}, 1).close());
            bytes("pad 1 all round", act.shape(), 8L * act.numel(), () -> be.pad(act, new int[] {0, 0, 1, 1}, new int[] {0, 0, 1, 1}, 0).close());
            Tensor rows256 = be.uniform(Shape.of(n * 1024, 256), -3, 3, rng);
            bytes("logSumExp over 256", rows256.shape(), 4L * rows256.numel(), () -> be.logSumExp(rows256, 1).close());
            bytes("mul channel", act.shape(), 8L * act.numel(), () -> be.binary(BinaryOp.MUL, act, chan).close());
            bytes("sumTo channel", act.shape(), 4L * act.numel(), () -> be.sumTo(act, chan.shape()).close());
            Tensor gamma = be.full(Shape.of(128), 1), beta = be.full(Shape.of(128), 0);
            bytes("batchNorm", act.shape(), 12L * act.numel(), () -> { var r = be.batchNorm(act, gamma, beta, 1e-5); r.y().close(); r.mean().close(); r.var().close(); });
            var bn = be.batchNorm(act, gamma, beta, 1e-5);
            bytes("batchNormBackward", act.shape(), 20L * act.numel(), () -> {
                var g = be.batchNormBackward(act, gamma, bn.mean(), bn.var(), 1e-5, act);
                g.dx().close(); g.dgamma().close(); g.dbeta().close();
            });
            Tensor logits = be.uniform(Shape.of(n, 4, 256, 1024), -3, 3, rng);
            Tensor targets = be.fromHost(Shape.of(n, 4, 1024), randomClasses(n * 4 * 1024, rng));
            bytes("crossEntropy 256", logits.shape(), 4L * logits.numel() + 8L * targets.numel(), () -> be.crossEntropy(logits, targets, 2).close());
            Tensor dloss = be.full(targets.shape(), 1.0 / n);
            bytes("crossEntropyBackward 256", logits.shape(), 8L * logits.numel() + 8L * targets.numel(),
                    () -> be.crossEntropyBackward(logits, targets, dloss, 2).close());
            Tensor p = be.uniform(Shape.of(4_820_000), -1, 1, rng), g = be.uniform(p.shape(), -1, 1, rng),
                    m = be.full(p.shape(), 0), v = be.full(p.shape(), 0);
            Backend.AdamConfig adam = new Backend.AdamConfig(1e-3, 0.9, 0.999, 1e-8, 0);
            Tensor factors = be.empty64(Shape.of(1, 2)).copyFrom(adam.factors("adamStep", 1));   // written once: the update alone is timed
            bytes("adamStep", p.shape(), 28L * p.numel(), () -> be.adamStep(p, g, m, v, adam, factors, 0));
            Tensor a = be.uniform(Shape.of(2048, 2048), -1, 1, rng);
            flops("matmul 2048³", a.shape(), 2.0 * 2048 * 2048 * 2048, () -> be.matmul(a, false, a, false).close());
            conv("encoder 4→64", n, 4, 32, 64, 4, 2, 1, false, rng);
            conv("encoder 64→128", n, 64, 16, 128, 4, 2, 1, false, rng);
            conv("encoder 128→256", n, 128, 8, 256, 4, 2, 1, false, rng);
            conv("decoder 256→128 (convT)", n, 128, 8, 256, 4, 2, 1, true, rng);
            conv("decoder 128→64 (convT)", n, 64, 16, 128, 4, 2, 1, true, rng);
            conv("decoder 64→1024 (convT)", n, 1024, 32, 64, 4, 2, 1, true, rng);
            conv("Glow coupling 3×3 4→64 at 16×16", n, 4, 16, 64, 3, 1, 1, false, rng);
            conv("Glow coupling zero conv 3×3 64→8 at 16×16", n, 64, 16, 8, 3, 1, 1, false, rng);
            conv("Glow (paper size, batch 8) 3×3 512→512 at 8×8", 8, 512, 8, 512, 3, 1, 1, false, rng);
            conv("Glow 1×1 over 16 channels", n, 16, 16, 16, 1, 1, 0, false, rng);
            conv("Glow 1×1 over 48 channels", n, 48, 8, 48, 1, 1, 0, false, rng);
            glowActNormInvConv(Shape.of(n, 16, 16, 16), rng);
            glowActNormInvConv(Shape.of(n, 48, 8, 8), rng);
            layerOps(Shape.of(32, 80, 32, 32), rng);
            mixture(Shape.of(32, 2, 32, 32), 10, rng);
            shifted("PixelCNN++ down-shifted 2×3", Shape.of(32, 80, 32, 32), 3, Shift.DOWN, rng);
            shifted("PixelCNN++ down-right-shifted 2×2", Shape.of(32, 80, 32, 32), 2, Shift.DOWN_RIGHT, rng);
            shifted("PixelCNN++ down-shifted 2×3 at 16×16", Shape.of(16, 160, 16, 16), 3, Shift.DOWN, rng);
            if (!(be instanceof frl.backend.cuda.CudaBackend)) hostHighPass(16384);
        }
        if (be instanceof frl.backend.cuda.CudaBackend) { // the GPU-only kernel families, timed with CUDA events
            Map<String, Object> hf = new LinkedHashMap<>(Map.of("op", "HF filter vs copy"));
            hf.putAll(frl.backend.cuda.FrequencyBench.run(65536));
            System.out.println(Json.write(hf));
            Map<String, Object> conv = new LinkedHashMap<>(Map.of("op", "shifted and 1×1 convolutions"));
            conv.putAll(frl.backend.cuda.ConvKernelBench.run());
            System.out.println(Json.write(conv));
        }
        return 0;
    }

    /**
     * A conv layer as conv2d over x [n, c, s, s] with k filters; transposed (a decoder layer) runs the same
     * geometry backwards: its forward is conv2dBackwardInput. All three directions are timed.
     */
    private void conv(String name, int n, int c, int s, int k, int kernel, int stride, int pad, boolean transposed, Rng rng) {
        ConvGeometry geo = ConvGeometry.of(stride, pad);
        Shape xs = Shape.of(n, c, s, s), ws = Shape.of(k, c, kernel, kernel);
        int o = geo.outH(s, kernel);
        Shape ys = Shape.of(n, k, o, o);
        Tensor x = be.uniform(xs, -1, 1, rng), w = be.uniform(ws, -0.1, 0.1, rng), dy = be.uniform(ys, -1, 1, rng);
        double f = 2.0 * n * k * o * o * c * kernel * kernel;
        if (!transposed) flops(name + " forward", xs, f, () -> be.conv2d(x, w, geo).close());
        else flops(name + " forward", ys, f, () -> be.conv2dBackwardInput(dy, w, xs, geo).close());
        flops(name + " backward-input", xs, f,
                transposed ? () -> be.conv2d(x, w, geo).close() : () -> be.conv2dBackwardInput(dy, w, xs, geo).close());
        flops(name + " backward-weight", ws, f, () -> be.conv2dBackwardWeight(x, dy, ws, geo).close());
        if (!transposed || !geo.uniformPhases(s, s)) return;
        // the same layer with its output in sub-pixel phases (the VAE's loss reads it so)
        Tensor xp = be.toPhases(x, geo);
        flops(name + " to phases forward", ys, f, () -> be.conv2dBackwardInputToPhases(dy, w, xs, geo).close());
        flops(name + " to phases backward-input", xs, f, () -> be.conv2dFromPhases(xp, w, xs, geo).close());
        flops(name + " to phases backward-weight", ws, f, () -> be.conv2dBackwardWeightFromPhases(xp, dy, xs, ws, geo).close());
        flops(name + " to phases both gradients", ws, 2 * f, () -> {
            Tensor[] both = be.conv2dFromPhasesWithWeightGrad(xp, w, dy, xs, geo);
            both[0].close();
            both[1].close();
        });
        if (c % 256 != 0) return;
        // and as the VAE's loss runs it: the cross-entropy's backward over the output as 256-way logits, then both gradients
        Shape ps = xp.shape(), ls = Shape.of(ps.dim(0), c / 256, 256, ps.dim(2) * ps.dim(3)), ts = Shape.of(ps.dim(0), c / 256, ps.dim(2) * ps.dim(3));
        Tensor logits = xp.reshape(ls), targets = be.fromHost(ts, randomClasses(Math.toIntExact(ts.numel()), rng)), dloss = be.full(ts, 1.0 / n);
        flops(name + " cross-entropy backward and both gradients", ws, 2 * f, () -> {
            Tensor[] both = be.crossEntropyOfPhasesBackward(logits, targets, dloss, 2, w, dy, xs, geo);
            both[0].close();
            both[1].close();
        });
    }

    /** PixelCNN++'s causal convolution over x (C in, C out, 2 rows × kw), all three directions. */
    private void shifted(String name, Shape xs, int kw, Shift shift, Rng rng) {
        int c = xs.dim(1);
        Shape ws = Shape.of(c, c, 2, kw);
        Tensor x = be.uniform(xs, -1, 1, rng), w = be.uniform(ws, -0.1, 0.1, rng), dy = be.uniform(xs, -1, 1, rng);
        double f = 2.0 * xs.numel() * c * 2 * kw;
        flops(name + " forward", xs, f, () -> be.shiftedConv2d(x, w, shift).close());
        flops(name + " backward-input", xs, f, () -> be.shiftedConv2dBackwardInput(dy, w, xs, shift).close());
        flops(name + " backward-weight", ws, f, () -> be.shiftedConv2dBackwardWeight(x, dy, ws, shift).close());
    }

    /**
     * The CPU's HF channel (frl.freq.HighPass, k = 5, FRL's default) over n gray 32×32 images on the heap, next to
     * a copy of the same bytes: the floor. The GPU's twin is timed by FrequencyBench.
     */
    private void hostHighPass(int n) {
        int plane = 32 * 32;
        float[] src = new float[n * plane], dst = new float[n * plane];
        for (int i = 0; i < src.length; i++) src[i] = (i * 37 % 256) / 255f;
        HighPass hp = new HighPass(5);
        Shape shape = Shape.of(n, 1, 32, 32);
        bytes("host copy (HF floor)", shape, 8L * src.length, () -> System.arraycopy(src, 0, dst, 0, src.length));
        bytes("HF filter k=5 (host, one thread)", shape, 8L * src.length, () -> {
            for (int i = 0; i < n; i++) hp.apply(src, i * plane, 1, 32, 32, dst, i * plane);
        });
    }

    /**
     * The layers' fused elementwise ops over a single tensor xs [N, C, ...] and its two-halves partner [N, 2C, ...]
     * (PixelCNN++'s concat-ELU, gate and biased sum, Glow's coupling, a bias with its ReLU), and weight normalisation of
     * PixelCNN++'s filters: bytes each reads and writes once.
     */
    private void layerOps(Shape xs, Rng rng) {
        try (Scope _ = Scope.open()) {
            Shape pair = frl.backend.Shapes.doubledChannels(xs);
            long n = xs.numel();
            Tensor x = be.uniform(xs, -1, 1, rng), h = be.uniform(pair, -1, 1, rng), dy = be.uniform(xs, -1, 1, rng), dyPair = be.uniform(pair, -1, 1, rng);
            Tensor y = be.concatElu(x), g = be.uniform(Shape.of(xs.dim(0)), -1, 1, rng), bias = be.uniform(Shape.of(pair.dim(1)), -1, 1, rng);
            bytes("concat-ELU", xs, 12L * n, () -> be.concatElu(x).close());
            bytes("concat-ELU backward", xs, 24L * n, () -> be.concatEluBackward(x, y, dyPair).close());
            bytes("gate", xs, 12L * n, () -> be.gate(h, null, null).close());
            bytes("gate backward", xs, 20L * n, () -> be.gateBackward(h, null, dy).close());
            bytes("gate with its bias and residual", xs, 16L * n, () -> be.gate(h, bias, x).close());
            bytes("gate with its bias, backward", xs, 20L * n, () -> be.gateBackward(h, bias, dy).close());
            Tensor channelBias = be.uniform(Shape.of(xs.dim(1)), -1, 1, rng);
            bytes("biased sum", xs, 12L * n, () -> be.biasedSum(x, channelBias, dy, channelBias).close());
            bytes("Glow coupling", xs, 16L * n, () -> be.coupling(x, h).close());
            bytes("Glow coupling backward", xs, 32L * n, () -> { for (Tensor t : be.couplingBackward(x, h, dy)) t.close(); });
            bytes("Glow coupling log-determinant", xs, 4L * n, () -> be.couplingLogdet(h).close());
            bytes("Glow coupling log-determinant backward", xs, 12L * n, () -> be.couplingLogdetBackward(h, g).close());
            bytes("bias + ReLU", pair, 8L * pair.numel(), () -> be.biasRelu(h, bias).close());
            Tensor relu = be.biasRelu(h, bias);
            bytes("bias + ReLU backward", pair, 12L * pair.numel(), () -> { for (Tensor t : be.biasReluBackward(relu, dyPair)) t.close(); });
            Shape vs = Shape.of(2 * xs.dim(1), 2 * xs.dim(1), 2, 3);   // PixelCNN++'s weight-normalised 2×3 filters
            Tensor v = be.uniform(vs, -1, 1, rng), gain = be.uniform(Shape.of(vs.dim(0), 1, 1, 1), 0.5, 2, rng), dv = be.uniform(vs, -1, 1, rng);
            bytes("weight norm", vs, 8L * vs.numel(), () -> be.weightNorm(v, gain).close());
            bytes("weight norm backward", vs, 16L * vs.numel(), () -> { for (Tensor t : be.weightNormBackward(v, gain, dv)) t.close(); });
        }
    }

    /** PixelCNN++'s mixture NLL over pixels xs [N, C, H, W] with m components, each way: bytes of x, the parameters, the NLL (and their gradients). */
    private void mixture(Shape xs, int m, Rng rng) {
        try (Scope _ = Scope.open()) {
            Shape ps = Shape.of(xs.dim(0), frl.backend.MixtureMath.parameterChannels(xs.dim(1), m), xs.dim(2), xs.dim(3));
            Shape out = Shape.of(xs.dim(0), 1, xs.dim(2), xs.dim(3));
            Tensor x = be.uniform(xs, -1, 1, rng), p = be.uniform(ps, -1, 1, rng), g = be.uniform(out, -1, 1, rng);
            long bytes = 4L * (xs.numel() + ps.numel() + out.numel());
            bytes("PixelCNN++ mixture NLL (" + m + " components)", xs, bytes, () -> be.mixtureNll(x, p, m).close());
            bytes("PixelCNN++ mixture NLL backward (" + m + " components)", xs, bytes + 4L * ps.numel(), () -> be.mixtureNllBackward(x, p, m, g).close());
        }
    }

    /**
     * Glow's actnorm + invertible 1×1, forward and backward, folded into one convolution and as two layers,
     * timed in alternating samples (the two differ by less than a shared machine drifts). The GB/s count the
     * least traffic of either (x and y forward; dy, x and dx backward), so they compare directly.
     */
    private void glowActNormInvConv(Shape xs, Rng rng) {
        try (ActNormInvConv m = new ActNormInvConv(be, xs.dim(1), rng); Scope _ = Scope.open()) {
            Tensor x = be.uniform(xs, -1, 1, rng), dy = be.uniform(xs, -1, 1, rng);
            Runnable[] step = new Runnable[2];
            for (int f = 0; f < 2; f++) {
                boolean folded = f == 0;
                step[f] = () -> {
                    m.zeroGrad();
                    try (Scope s = Scope.open()) {
                        Var v = Var.leaf(x);
                        (folded ? m.forward(v) : m.forwardUnfused(v)).y().backward(dy);
                    }
                };
                for (int i = 0; i < 50; i++) step[f].run();   // the autograd path is Java: let the JIT compile it first
            }
            int samples = 15;
            double[][] t = new double[2][samples];
            for (int k = 0; k < samples; k++) for (int f = 0; f < 2; f++) t[f][k] = medianSeconds(1, repeats, step[f]);
            for (int f = 0; f < 2; f++) {
                Arrays.sort(t[f]);
                String one = be.fusesActNormConv1x1() ? "in one pass" : "folded";   // ActNormInvConv's way on this backend
                bytes("Glow actnorm + 1×1 " + (f == 0 ? one : "as two layers") + ", forward + backward", xs, 20L * x.numel(),
                        new Timing(t[f][samples / 2], medianSeconds(repeats, 1, step[f])));
            }
        }
    }

    private static float[] randomClasses(int count, Rng rng) {
        float[] t = new float[count];
        for (int i = 0; i < t.length; i++) t[i] = rng.nextInt(256);
        return t;
    }

    private void bytes(String op, Shape shape, long bytes, Runnable body) { bytes(op, shape, bytes, time(body)); }

    /** The copy's GB/s, once its row is timed (the first): each memory-bound row states its share of it. */
    private double copyGBs;

    private void bytes(String op, Shape shape, long bytes, Timing t) {
        double gbs = bytes / t.queued() / 1e9;
        Map<String, Object> r = record(op, shape, t);
        r.put("GB/s", round(gbs));
        if (copyGBs == 0) copyGBs = gbs;
        else r.put("of_copy", round(gbs / copyGBs));
        System.out.println(Json.write(r));
    }

    private void flops(String op, Shape shape, double flop, Runnable body) {
        Timing t = time(body);
        Map<String, Object> r = record(op, shape, t);
        r.put("GFLOP/s", round(flop / t.queued() / 1e9));
        System.out.println(Json.write(r));
    }

    /** A row's common fields; the caller adds its rate and prints it as soon as it is timed (a CPU run takes minutes). */
    private Map<String, Object> record(String op, Shape shape, Timing t) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("op", op);
        r.put("device", be.name());
        r.put("shape", shape.toString());
        r.put("ms", round(t.queued() * 1e3));
        r.put("ms_alone", round(t.alone() * 1e3));
        return r;
    }

    /**
     * Seconds of one call when calls are queued back to back (the cost inside a training step), and of a lone
     * call that is waited for (its latency too).
     */
    private record Timing(double queued, double alone) {}

    /**
     * After warm-up calls, at least 3 (cuDNN searches there) and 0.5 s of them (the JIT compiles the CPU's Vector-API
     * kernels meanwhile; a row timed before that measured the 3×3 conv of Glow at a third of its speed): 5 batches of
     * {@code repeats} queued calls, then {@code repeats} lone calls.
     */
    private Timing time(Runnable body) {
        try (Scope s = Scope.open()) {
            long start = System.nanoTime();
            for (int i = 0; i < 3 || System.nanoTime() - start < 500_000_000L; i++) {
                try (Scope call = Scope.open()) { body.run(); }
            }
        }
        return new Timing(medianSeconds(5, repeats, body), medianSeconds(repeats, 1, body));
    }

    /** The median over {@code samples} of the seconds per call of {@code calls} calls between two synchronisations. */
    private double medianSeconds(int samples, int calls, Runnable body) {
        double[] t = new double[samples];
        try (Scope s = Scope.open()) {
            for (int b = 0; b < samples; b++) {
                be.synchronize();
                long t0 = System.nanoTime();
                for (int i = 0; i < calls; i++) body.run();
                be.synchronize();
                t[b] = (System.nanoTime() - t0) / 1e9 / calls;
            }
        }
        Arrays.sort(t);
        return t[samples / 2];
    }

    private static double round(double v) { return Math.round(v * 1000) / 1000.0; }
}
