package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.ConvGeometry;
import frl.backend.StepGraph;
import frl.backend.UnaryOp;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static frl.backend.cuda.CudaVsCpu.floats;
import static frl.backend.cuda.CudaVsCpu.shape;
import static frl.backend.cuda.CudaVsCpu.uniform;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Steps recorded as CUDA graphs (CudaGraph): a replay computes what running the step computes, from the inputs as
 * they are at the replay; the input checks of the step run at every replay; a step that reads the host is refused
 * by name and leaves the backend usable; closing a graph gives its memory back.
 */
@Tag("gpu")
class CudaGraphTest {
    /** out ← Σ relu(conv(x, w) · m) over the batch, through cuDNN, cuBLAS, hand-written kernels and temporaries. */
    private static void chain(Backend be, Tensor x, Tensor w, Tensor m, Tensor out) {
        Tensor y = be.conv2d(x, w, ConvGeometry.of(2, 1));                       // [4, 8, 8, 8]
        Tensor z = be.matmul(y.reshape(4 * 8 * 8, 8), false, m, false);           // [256, 8]
        be.copyInto(be.sumTo(be.unary(UnaryOp.RELU, z, 0, 0), shape(1, 8)), out);
    }

    @Test void aReplayComputesWhatTheStepComputesFromTheCurrentInputs() {
        Backend cuda = GpuTests.cudaOrSkip();
        Random r = new Random(1);
        try (Scope s = Scope.open()) {
            Tensor x = cuda.fromHost(shape(4, 3, 16, 16), uniform(r, 4 * 3 * 256, -1, 1));
            Tensor w = cuda.fromHost(shape(8, 3, 4, 4), uniform(r, 8 * 3 * 16, -1, 1));
            Tensor m = cuda.fromHost(shape(8, 8), uniform(r, 64, -1, 1));
            Tensor eager = cuda.empty(shape(1, 8)), replayed = cuda.empty(shape(1, 8));
            try (Scope warm = Scope.open()) { chain(cuda, x, w, m, eager); }   // algorithms chosen before recording
            try (StepGraph g = cuda.capture(() -> chain(cuda, x, w, m, replayed))) {
                assertTrue(g.recorded());
                for (int round = 0; round < 3; round++) {
                    x.copyFrom(uniform(r, 4 * 3 * 256, -1, 1));
                    g.replay();
                    try (Scope e = Scope.open()) { chain(cuda, x, w, m, eager); }
                    assertArrayEquals(floats(eager), floats(replayed), "round " + round);
                }
            }
        }
    }

    /** A recorded Adam update reads the factors written before each replay: the CPU's steps 1, 2, 3, bit for bit. */
    @Test void aRecordedAdamUpdateTakesEachReplaysFactors() {
        Backend cuda = GpuTests.cudaOrSkip();
        Random r = new Random(3);
        Backend.AdamConfig c = new Backend.AdamConfig(1e-2, 0.9, 0.999, 1e-8, 0.01);
        int n = 1000;
        float[] p0 = uniform(r, n, -1, 1), g0 = uniform(r, n, -1, 1);
        try (Scope s = Scope.open()) {
            Tensor p = cuda.fromHost(shape(n), p0), g = cuda.fromHost(shape(n), g0), m = cuda.full(shape(n), 0), v = cuda.full(shape(n), 0);
            Tensor pc = CudaVsCpu.CPU.fromHost(shape(n), p0), gc = CudaVsCpu.CPU.fromHost(shape(n), g0),
                    mc = CudaVsCpu.CPU.full(shape(n), 0), vc = CudaVsCpu.CPU.full(shape(n), 0);
            try (Scope warm = Scope.open()) {   // the kernel loaded before recording, on scratch tensors
                Tensor z = cuda.full(shape(n), 0);
                cuda.adamStep(z, z, cuda.full(shape(n), 0), cuda.full(shape(n), 0), c, 1);
            }
            Tensor factors = cuda.empty64(shape(2, 2));
            try (StepGraph graph = cuda.capture(() -> cuda.adamStep(p, g, m, v, c, factors, 1))) {
                for (int t = 1; t <= 3; t++) {
                    double[] f = c.factors("adamStep", t);
                    factors.copyFrom(new double[] {0, 0, f[0], f[1]});
                    graph.replay();
                    CudaVsCpu.CPU.adamStep(pc, gc, mc, vc, c, t);
                    assertArrayEquals(floats(pc), floats(p), "param after step " + t);
                    assertArrayEquals(floats(vc), floats(v), "second moment after step " + t);
                }
            }
        }
    }

    @Test void theStepsInputChecksRunAtEachReplay() {
        Backend cuda = GpuTests.cudaOrSkip();
        try (Scope s = Scope.open()) {
            Tensor logits = cuda.fromHost(shape(2, 5, 3), new float[30]);
            Tensor targets = cuda.fromHost(shape(2, 3), new float[6]);
            Tensor loss = cuda.empty(shape(2, 3));
            try (Scope warm = Scope.open()) { cuda.crossEntropy(logits, targets, 1); }
            try (StepGraph g = cuda.capture(() -> cuda.copyInto(cuda.crossEntropy(logits, targets, 1), loss))) {
                g.replay();
                cuda.synchronize();
                assertEquals(Math.log(5), loss.toDoubles()[0], 1e-6);
                float[] bad = new float[6];
                bad[4] = 7;
                targets.copyFrom(bad);
                g.replay();
                var e = assertThrows(IllegalArgumentException.class, cuda::synchronize);
                assertTrue(e.getMessage().contains("flat position 4 is"), e.getMessage());
                targets.copyFrom(new float[6]);
                g.replay();
                cuda.synchronize();   // raised once: nothing left to raise
                targets.copyFrom(bad);
                g.replay();
                targets.copyFrom(new float[6]);
                g.replay();           // a good replay after a bad one does not hide the failure
                e = assertThrows(IllegalArgumentException.class, cuda::synchronize);
                assertTrue(e.getMessage().contains("flat position 4 is"), e.getMessage());
            }
        }
    }

    @Test void aStepThatReadsTheHostIsRefusedByName() {
        Backend cuda = GpuTests.cudaOrSkip();
        try (Scope s = Scope.open()) {
            Tensor x = cuda.fromHost(shape(3), new float[] {1, 2, 3});
            var e = assertThrows(IllegalStateException.class, () -> cuda.capture(() -> cuda.affine(x, 2, 0).toDoubles()));
            assertTrue(e.getMessage().contains("could not be recorded as a CUDA graph") && e.getMessage().contains("cannot be captured"), e.getMessage());
            assertArrayEquals(new double[] {3, 5, 7}, cuda.affine(x, 2, 1).toDoubles(), "usable after a refused capture");
            try (StepGraph g = cuda.capture(() -> cuda.copyInto(cuda.affine(x, 1, 1), x))) {
                g.replay();
                g.replay();
            }
            assertArrayEquals(new double[] {3, 4, 5}, x.toDoubles());
        }
    }

    /** A second graph of the same step, recorded after the first is closed, finds every block in the cache. */
    @Test void closingAGraphGivesItsMemoryBack() {
        Backend cuda = GpuTests.cudaOrSkip();
        DeviceAllocator alloc = CudaContext.get().allocator();
        try (Scope s = Scope.open()) {
            Tensor x = cuda.fromHost(shape(1 << 16), new float[1 << 16]);
            Runnable step = () -> cuda.copyInto(cuda.unary(UnaryOp.EXP, cuda.affine(x, 1, 1), 0, 0), x);
            cuda.synchronize();   // settles earlier tests' input checks, whose flags are live until then
            long live = alloc.liveBytes();
            StepGraph g = cuda.capture(step);
            g.replay();
            g.close();
            assertEquals(live, alloc.liveBytes());
            assertEquals((float) Math.E, floats(x)[123], 1e-6);
            assertThrows(IllegalStateException.class, g::replay);
            long mallocs = alloc.mallocs();
            try (StepGraph again = cuda.capture(step)) { again.replay(); }
            assertEquals(mallocs, alloc.mallocs(), "cudaMalloc calls for a second recording of the same step");
        }
    }
}
