package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.Backend.AdamConfig;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static frl.backend.cuda.CudaVsCpu.CPU;
import static frl.backend.cuda.CudaVsCpu.assertSameFloats;
import static frl.backend.cuda.CudaVsCpu.floats;
import static frl.backend.cuda.CudaVsCpu.shape;
import static frl.backend.cuda.CudaVsCpu.uniform;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Adam and Adamax (optim.cu) against the CPU backend, bit for bit: both compute each element in double with the
 * same operations in the same order (the kernels forbid FMA contraction) and round once per stored value.
 */
@Tag("gpu")
class CudaOptimTest {
    /** One parameter tensor with its moments on both backends. */
    private record State(Tensor p, Tensor m, Tensor v) {
        static State of(Backend b, Shape s, float[] p, float[] m, float[] v) { return new State(b.fromHost(s, p), b.fromHost(s, m), b.fromHost(s, v)); }
    }

    private static void run(Backend cuda, boolean adamax, Shape s, AdamConfig c, long firstStep, int steps, long seed) {
        Random r = new Random(seed);
        int n = Math.toIntExact(s.numel());
        float[] p = uniform(r, n, -1, 1), m = uniform(r, n, -0.1, 0.1), v = uniform(r, n, 0, 0.01);
        if (firstStep == 1) { m = new float[n]; v = new float[n]; }
        String what = (adamax ? "adamax " : "adam ") + s + " " + c + " from step " + firstStep;
        try (Scope sc = Scope.open()) {
            State gpu = State.of(cuda, s, p, m, v), cpu = State.of(CPU, s, p, m, v);
            for (int k = 0; k < steps; k++) {
                float[] g = uniform(r, n, -1, 1);
                if (k == 1 && n > 3) { g[0] = 0; g[1] = 1e-30f; g[2] = -1e30f; } // tiny, huge and zero gradients
                try (Scope step = Scope.open()) {
                    Tensor gg = cuda.fromHost(s, g), gh = CPU.fromHost(s, g);
                    long t = firstStep + k;
                    if (adamax) {
                        cuda.adamaxStep(gpu.p(), gg, gpu.m(), gpu.v(), c, t);
                        CPU.adamaxStep(cpu.p(), gh, cpu.m(), cpu.v(), c, t);
                    } else {
                        cuda.adamStep(gpu.p(), gg, gpu.m(), gpu.v(), c, t);
                        CPU.adamStep(cpu.p(), gh, cpu.m(), cpu.v(), c, t);
                    }
                }
                assertSameFloats(what + " step " + k + ": param", floats(gpu.p()), floats(cpu.p()));
                assertSameFloats(what + " step " + k + ": first moment", floats(gpu.m()), floats(cpu.m()));
                assertSameFloats(what + " step " + k + ": second moment", floats(gpu.v()), floats(cpu.v()));
            }
        }
    }

    private static final AdamConfig[] CONFIGS = {
            new AdamConfig(1e-3, 0.9, 0.999, 1e-8, 0), new AdamConfig(2e-3, 0.5, 0.9, 1e-6, 0.01), new AdamConfig(0.1, 0, 0.99, 0, 1e-4)};

    /** The VAE's largest parameter sizes and awkward ones, from step 1 and from a late step with moments set. */
    private static final Shape[] SHAPES = {shape(1), shape(17), shape(33, 3), shape(256, 128, 3, 3), shape(1_000_003)};

    @Test void adamMatchesTheCpuBitForBit() {
        Backend cuda = GpuTests.cudaOrSkip();
        long seed = 1;
        for (AdamConfig c : CONFIGS) for (Shape s : SHAPES) {
            run(cuda, false, s, c, 1, 3, seed++);
            run(cuda, false, s, c, 1000, 2, seed++);
        }
    }

    @Test void adamaxMatchesTheCpuBitForBit() {
        Backend cuda = GpuTests.cudaOrSkip();
        long seed = 100;
        for (AdamConfig c : CONFIGS) for (Shape s : SHAPES) {
            run(cuda, true, s, c, 1, 3, seed++);
            run(cuda, true, s, c, 1000, 2, seed++);
        }
    }

    @Test void sameErrorsAsTheCpu() {
        Backend cuda = GpuTests.cudaOrSkip();
        try (Scope sc = Scope.open()) {
            Tensor a = cuda.fromHost(shape(3), new float[3]), b = cuda.fromHost(shape(4), new float[4]);
            AdamConfig c = CONFIGS[0];
            assertTrue(assertThrows(IllegalArgumentException.class, () -> cuda.adamStep(a, a, a, a, c, 0)).getMessage()
                    .contains("step counts from 1"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> cuda.adamaxStep(a, b, a, a, c, 1)).getMessage()
                    .startsWith("adamaxStep (param vs grad)"));
        }
    }

    /**
     * Backend#adamSteps over many parameters in one call (more than one launch takes: 130 against 54 a launch),
     * some empty, each with its own factor row and step count, against the CPU's one-by-one steps, bit for bit.
     */
    @Test void manyParametersInOneCallMatchTheCpuBitForBit() {
        Backend cuda = GpuTests.cudaOrSkip();
        Random r = new Random(7);
        int count = 130;
        assertTrue(count > 2 * CudaOptim.ROWS_PER_LAUNCH);
        for (boolean max : new boolean[] {false, true}) {
            AdamConfig c = CONFIGS[1];
            try (Scope sc = Scope.open()) {
                Tensor[][] gpu = new Tensor[4][count], cpu = new Tensor[4][count];
                int[] rows = new int[count];
                double[] f = new double[2 * count];
                for (int i = 0; i < count; i++) {
                    Shape s = i % 17 == 5 ? shape(0) : i == 3 ? shape(70_001) : shape(1 + r.nextInt(300));
                    int n = Math.toIntExact(s.numel());
                    float[][] v = {uniform(r, n, -1, 1), uniform(r, n, -1, 1), uniform(r, n, -0.1, 0.1), uniform(r, n, 0, 0.01)};
                    for (int k = 0; k < 4; k++) {
                        gpu[k][i] = cuda.fromHost(s, v[k]);
                        cpu[k][i] = CPU.fromHost(s, v[k]);
                    }
                    rows[i] = count - 1 - i; // rows in another order than the tensors
                    double[] row = c.factors(max ? "adamaxStep" : "adamStep", 1 + i % 9);
                    f[2 * rows[i]] = row[0];
                    f[2 * rows[i] + 1] = row[1];
                }
                Tensor fg = cuda.empty64(Shape.of(count, 2)).copyFrom(f), fc = CPU.empty64(Shape.of(count, 2)).copyFrom(f);
                CudaOptim.steps(max, gpu[0], gpu[1], gpu[2], gpu[3], c, fg, rows);
                CPU.adamSteps(max, cpu[0], cpu[1], cpu[2], cpu[3], c, fc, rows);
                for (int i = 0; i < count; i++)
                    for (int k : new int[] {0, 2, 3})
                        assertSameFloats((max ? "adamaxSteps" : "adamSteps") + " tensor " + i + " state " + k, floats(gpu[k][i]), floats(cpu[k][i]));
            }
        }
    }
}
