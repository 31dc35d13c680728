package frl.backend.cuda;

import frl.backend.Backend;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import static frl.backend.cuda.CudaVsCpu.shape;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Host↔device copies that do not wait for the stream (PinnedStaging): uploads queued back to back from one reused
 * host array, reads queued before later writes, and a failed input check raised by the read queued after it.
 */
@Tag("gpu")
class PinnedStagingTest {
    /** Element counts below, at and above the pinned path's limit (16 MiB = 4 Mi floats). */
    private static final int[] SIZES = {1, 1000, 300_000, (int) (PinnedStaging.MAX_BYTES / 4), (int) (PinnedStaging.MAX_BYTES / 4) + 1};

    private static float value(int copy, int i) { return copy * 1000.5f + i % 977; }

    @Test void uploadsFromOneReusedArrayKeepEachCallsValues() {
        Backend cuda = GpuTests.cudaOrSkip();
        try (Scope s = Scope.open()) {
            for (int n : SIZES) {
                float[] host = new float[n];
                List<Tensor> copies = new ArrayList<>();
                for (int c = 0; c < 12; c++) {
                    for (int i = 0; i < n; i++) host[i] = value(c, i);
                    copies.add(cuda.fromHost(Shape.of(n), host));   // host changes right after: the copy must not
                }
                for (int c = 0; c < copies.size(); c++) {
                    float[] got = copies.get(c).toFloats();
                    for (int i = 0; i < n; i += Math.max(1, n / 4096)) assertEquals(value(c, i), got[i], "size " + n + ", copy " + c + ", element " + i);
                }
            }
        }
    }

    @Test void aReadSeesTheValuesQueuedBeforeItNotTheWritesAfter() {
        Backend cuda = GpuTests.cudaOrSkip();
        try (Scope s = Scope.open()) {
            for (int n : SIZES) {
                float[] host = new float[n];
                for (int i = 0; i < n; i++) host[i] = value(1, i);
                Tensor t = cuda.fromHost(Shape.of(n), host);
                List<Supplier<double[]>> reads = new ArrayList<>();
                for (int c = 0; c < 3; c++) {
                    reads.add(t.toDoublesLater());
                    cuda.fill(t, c + 7);
                }
                double[] first = reads.get(0).get();
                for (int i = 0; i < n; i += Math.max(1, n / 4096)) assertEquals(value(1, i), first[i], "size " + n + ", element " + i);
                assertArrayEquals(new double[] {7, 8}, new double[] {reads.get(1).get()[n - 1], reads.get(2).get()[0]}, "size " + n);
                assertEquals(9, t.toDoubles()[n / 2]);
            }
        }
    }

    /** The cross-entropy checks its targets on the GPU; the flag is read by the next read queued after it. */
    @Test void aReadRaisesTheFailedCheckOfWorkQueuedBeforeIt() {
        Backend cuda = GpuTests.cudaOrSkip();
        try (Scope s = Scope.open()) {
            Tensor logits = cuda.fromHost(shape(2, 5, 3), new float[30]);
            float[] t = new float[6];
            t[4] = 5;
            Tensor before = cuda.fromHost(shape(2), new float[] {1, 2});
            Supplier<double[]> earlier = before.toDoublesLater();
            Tensor targets = cuda.fromHost(shape(2, 3), t);
            IllegalArgumentException e;
            if (CudaContext.SYNC_EACH_LAUNCH) {   // -Dfrl.cuda.sync: the op itself waits, and raises its check
                e = assertThrows(IllegalArgumentException.class, () -> cuda.crossEntropy(logits, targets, 1));
                assertArrayEquals(new double[] {1, 2}, earlier.get(), "the read queued before the failing op");
            } else {
                Tensor loss = cuda.crossEntropy(logits, targets, 1);
                assertArrayEquals(new double[] {1, 2}, earlier.get(), "a read queued before the failing op does not raise its check");
                Supplier<double[]> read = loss.toDoublesLater();
                e = assertThrows(IllegalArgumentException.class, read::get);
            }
            assertTrue(e.getMessage().contains("flat position 4 is"), e.getMessage());
            // settled: a later synchronisation has nothing left to raise
            cuda.synchronize();
            Tensor ok = cuda.crossEntropy(logits, cuda.fromHost(shape(2, 3), new float[6]), 1);
            assertEquals(Math.log(5), ok.toDoublesLater().get()[0], 1e-6);
        }
    }
}
