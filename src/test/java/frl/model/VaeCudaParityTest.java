package frl.model;

import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.OpHarness;
import frl.backend.Rng;
import frl.backend.StepGraph;
import frl.backend.cuda.GpuTests;
import frl.nn.Adam;
import frl.nn.Parameter;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CIFAR-config FRL-VAE (ngf 64, 4 channels, 32×32) on CUDA against the CPU backend: the same seed gives the
 * same weights; one training step gives the same loss and gradients, an Adam step the same weights, and IWAE
 * scoring the same terms. Whole-model tolerances are looser than one op's 1e-7: float32 sums in another order
 * through 10 layers and batch norm.
 */
@Tag("gpu")
class VaeCudaParityTest {
    private static final double TOL = 1e-6;

    private static void close(double[] want, double[] got, String what) {
        double e = OpHarness.nmse(got, want);
        assertTrue(e <= TOL, what + ": NMSE " + e + " > " + TOL);
    }

    @Test void trainingStepAndScoringMatchTheCpu() {
        Backend cuda = GpuTests.cudaOrSkip(), cpu = Backends.cpu();
        VaeConfig c = VaeConfig.cifar(4);
        int n = 8, k = 3;
        Random r = new Random(5);
        float[] px = new float[n * 4 * 32 * 32];
        for (int i = 0; i < px.length; i++) px[i] = r.nextInt(256);
        double[] eps = new double[n * c.nz()], epsK = new double[k * n * c.nz()];
        for (int i = 0; i < eps.length; i++) eps[i] = r.nextGaussian();
        for (int i = 0; i < epsK.length; i++) epsK[i] = r.nextGaussian();
        try (Scope scope = Scope.open(); Vae a = new Vae(cpu, c, new Rng(3)); Vae b = new Vae(cuda, c, new Rng(3));
             Adam oa = new Adam(a.parameters(), 1e-3); Adam ob = new Adam(b.parameters(), 1e-3)) {
            Map<String, Parameter> pa = a.namedParameters(), pb = b.namedParameters();
            pa.forEach((name, p) -> close(p.value().toDoubles(), pb.get(name).value().toDoubles(), "initial " + name));
            double[] lossA = step(cpu, a, oa, px, eps, n), lossB = step(cuda, b, ob, px, eps, n);
            close(lossA, lossB, "loss, reconstruction, kl");
            pa.forEach((name, p) -> close(p.value().toDoubles(), pb.get(name).value().toDoubles(), "after one Adam step: " + name));
            a.eval();
            b.eval();
            double[][] wa = iwae(cpu, a, px, epsK, n, k), wb = iwae(cuda, b, px, epsK, n, k);
            for (int j = 0; j < k; j++) close(wa[j], wb[j], "IWAE terms of sample " + j);
        }
    }

    /**
     * The forward and backward of a training step recorded as a CUDA graph over persistent inputs: each replay
     * gives the loss and gradients the step gives when run, for the inputs of that replay.
     */
    @Test void aRecordedTrainingStepGivesTheGradientsOfTheStepRun() {
        Backend cuda = GpuTests.cudaOrSkip();
        VaeConfig c = VaeConfig.cifar(4);
        int n = 8;
        Random r = new Random(9);
        try (Scope scope = Scope.open(); Vae vae = new Vae(cuda, c, new Rng(3)); Adam opt = new Adam(vae.parameters(), 1e-3)) {
            vae.train(true);
            Tensor pixels = cuda.empty(Shape.of(n, 4, 32, 32)), eps = cuda.empty(Shape.of(n, c.nz(), 1, 1)), loss = cuda.empty(Shape.of(1));
            Runnable forwardBackward = () -> {
                opt.zeroGrad();
                Var l = vae.loss(Var.constant(cuda.affine(pixels, 1 / 255.0, 0)), Var.constant(pixels), eps, 1.0).loss();
                l.backward();
                cuda.copyInto(l.value(), loss);
            };
            refresh(pixels, eps, r);
            try (Scope warm = Scope.open()) { forwardBackward.run(); }
            try (StepGraph g = cuda.capture(forwardBackward)) {
                for (int round = 0; round < 3; round++) {
                    refresh(pixels, eps, r);
                    try (Scope run = Scope.open()) { forwardBackward.run(); }
                    double want = loss.item();
                    Map<String, double[]> grads = new java.util.TreeMap<>();
                    vae.namedParameters().forEach((name, p) -> grads.put(name, p.grad().toDoubles()));
                    cuda.fill(loss, 0);
                    g.replay();
                    String what = "round " + round + ": ";
                    close(new double[] {want}, new double[] {loss.item()}, what + "loss");
                    vae.namedParameters().forEach((name, p) -> close(grads.get(name), p.grad().toDoubles(), what + "gradient of " + name));
                    opt.step();   // the next round starts from other weights
                }
            }
        }
    }

    private static void refresh(Tensor pixels, Tensor eps, Random r) {
        float[] px = new float[Math.toIntExact(pixels.numel())], e = new float[Math.toIntExact(eps.numel())];
        for (int i = 0; i < px.length; i++) px[i] = r.nextInt(256);
        for (int i = 0; i < e.length; i++) e[i] = (float) r.nextGaussian();
        pixels.copyFrom(px);
        eps.copyFrom(e);
    }

    private static double[] step(Backend be, Vae vae, Adam opt, float[] px, double[] eps, int n) {
        vae.train(true);
        Tensor pixels = be.fromHost(Shape.of(n, 4, 32, 32), px);
        opt.zeroGrad();
        DensityModel.LossParts p = vae.loss(Var.constant(be.affine(pixels, 1 / 255.0, 0)), Var.constant(pixels),
                be.fromHost(Shape.of(n, vae.config().nz(), 1, 1), eps), 1.0);
        p.loss().backward();
        double loss = p.loss().value().item();
        opt.step();
        return new double[] {loss, p.part("rec"), p.part("kl")};
    }

    private static double[][] iwae(Backend be, Vae vae, float[] px, double[] epsK, int n, int k) {
        Tensor pixels = be.fromHost(Shape.of(n, 4, 32, 32), px);
        return vae.logWeights(be.affine(pixels, 1 / 255.0, 0), pixels, be.fromHost(Shape.of(k, n, vae.config().nz()), epsK));
    }
}
