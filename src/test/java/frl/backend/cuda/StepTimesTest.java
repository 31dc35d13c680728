package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.ConvGeometry;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A plan run through StepTimes computes what it computes on the GPU's steps, and each of its steps gets a time. */
class StepTimesTest {
    @Test @Tag("gpu") void timesEachStepOfAPlanAndLeavesItsResultAlone() {
        Backend cuda = GpuTests.cudaOrSkip();
        Shape xs = Shape.of(2, 8, 8, 8), ws = Shape.of(4, 8, 4, 4), ys = Shape.of(2, 4, 4, 4);
        ConvGeometry g = ConvGeometry.of(2, 1);
        for (boolean batch : new boolean[] {false, true}) timesEachStep(cuda, xs, ws, ys, SubPixelPlans.Dims.of(xs, ws, g).running(batch, false));
    }

    /** d's plan of backwardInput directly and through StepTimes: the same floats, and each step timed. */
    private static void timesEachStep(Backend cuda, Shape xs, Shape ws, Shape ys, SubPixelPlans.Dims d) {
        Random r = new Random(3);
        try (Scope s = Scope.open()) {
            Tensor w = cuda.fromHost(ws, gauss(r, ws)), dy = cuda.fromHost(ys, gauss(r, ys));
            Tensor direct = CudaBackend.alloc(xs), timed = CudaBackend.alloc(xs);
            SubPixelPlans.backwardInput(CudaSubPixel.GPU, SubPixelPlans.Gemm.SGEMM, d, at(dy), at(w), at(direct));
            StepTimes steps = new StepTimes(CudaSubPixel.GPU);
            SubPixelPlans.backwardInput(steps, SubPixelPlans.Gemm.SGEMM, d, at(dy), at(w), at(timed));
            Map<String, Double> ms = steps.drain();
            assertArrayEquals(direct.toFloats(), timed.toFloats());
            String gemm = d.batched() ? "gemm sgemm 4× NN m32 n8 k16" : "gemm sgemm NN m32 n8 k16"; // phases batched: one for the 4 phases
            for (String step : new String[] {"splitWeights", "gather", gemm, "movePixels"})
                assertTrue(ms.containsKey(step), step + " not timed: " + ms);
            ms.forEach((step, t) -> assertTrue(t >= 0, step + ": " + t + " ms"));
            assertEquals(Map.of(), steps.drain(), "a drain starts afresh");
        }
    }

    private static long at(Tensor t) { return t.storage().address(); }

    private static float[] gauss(Random r, Shape s) {
        float[] v = new float[(int) s.numel()];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return v;
    }
}
