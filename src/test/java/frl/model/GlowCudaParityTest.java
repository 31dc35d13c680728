package frl.model;

import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.OpHarness;
import frl.backend.Rng;
import frl.backend.cuda.GpuTests;
import frl.nn.Adam;
import frl.nn.Parameter;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An FRL-Glow on CIFAR-like input (4 channels, 32×32; hidden 64, depth 4, levels 3) on CUDA against the CPU: the
 * same seed gives the same weights; the first training step (with the actnorms' data-dependent init) the same loss
 * and gradients, an Adam step the same weights; then the same log-weights, and decoding the same images.
 */
@Tag("gpu")
class GlowCudaParityTest {
    private static final double TOL = 1e-6;
    private static final GlowConfig CONFIG = new GlowConfig(32, 4, 64, 4, 3);

    private static void close(double[] want, double[] got, String what) {
        double e = OpHarness.nmse(got, want);
        assertTrue(e <= TOL, what + ": NMSE " + e + " > " + TOL);
    }

    @Test void trainingStepScoringAndDecodingMatchTheCpu() {
        Backend cuda = GpuTests.cudaOrSkip(), cpu = Backends.cpu();
        int n = 8, k = 2, d = 4 * 32 * 32;
        Random r = new Random(5);
        float[] px = new float[n * d];
        for (int i = 0; i < px.length; i++) px[i] = r.nextInt(256);
        double[] u = new double[n * d], uK = new double[k * n * d];
        for (int i = 0; i < u.length; i++) u[i] = r.nextDouble();
        for (int i = 0; i < uK.length; i++) uK[i] = r.nextDouble();
        try (Scope scope = Scope.open(); Glow a = new Glow(cpu, CONFIG, new Rng(3)); Glow b = new Glow(cuda, CONFIG, new Rng(3));
             Adam oa = new Adam(a.parameters(), 1e-3); Adam ob = new Adam(b.parameters(), 1e-3)) {
            Map<String, Parameter> pa = a.namedParameters(), pb = b.namedParameters();
            pa.forEach((name, p) -> close(p.value().toDoubles(), pb.get(name).value().toDoubles(), "initial " + name));
            close(new double[] {step(cpu, a, oa, px, u, n)}, new double[] {step(cuda, b, ob, px, u, n)}, "loss");
            pa.forEach((name, p) -> close(p.value().toDoubles(), pb.get(name).value().toDoubles(), "after one Adam step: " + name));
            Tensor pixelsA = cpu.fromHost(Shape.of(n, 4, 32, 32), px), pixelsB = cuda.fromHost(Shape.of(n, 4, 32, 32), px);
            double[][] wa = a.logWeights(pixelsA, pixelsA, cpu.fromHost(Shape.of(k, n, d), uK)), wb = b.logWeights(pixelsB, pixelsB, cuda.fromHost(Shape.of(k, n, d), uK));
            for (int j = 0; j < k; j++) close(wa[j], wb[j], "log-weights of sample " + j);
            List<Tensor> z = a.encode(Var.constant(cpu.affine(pixelsA, 1 / 256.0, -0.5))).latents().stream().map(Var::value).toList();
            List<Tensor> zOnGpu = z.stream().map(t -> cuda.fromHost(t.shape(), t.toDoubles())).toList();
            close(a.decode(z).toDoubles(), b.decode(zOnGpu).toDoubles(), "decoded images");
        }
    }

    /** One step: zero the gradients, the loss's forward and backward, an Adam update; returns the loss. */
    private static double step(Backend be, Glow g, Adam opt, float[] px, double[] u, int n) {
        Tensor pixels = be.fromHost(Shape.of(n, 4, 32, 32), px);
        opt.zeroGrad();
        Var loss = g.loss(Var.constant(be.affine(pixels, 1 / 255.0, 0)), Var.constant(pixels), be.fromHost(Shape.of(n, 4, 32, 32), u), 1).loss();
        loss.backward();
        opt.step();
        return loss.value().item();
    }
}
