package frl.backend.cuda;

import frl.backend.ConvGeometry;
import frl.backend.ConvGeometry.Phase;
import frl.backend.cuda.SubPixelPlans.Dims;
import frl.tensor.Shape;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.global.cudart;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * SubPixelPlans' steps run on another Steps (the GPU's) between pairs of CUDA events, to see where a plan's time goes
 * (bench-kernels). Each step is timed as queued: the stream runs it after the one before, so the sum over the steps
 * is the plan's device time less its launch gaps.
 */
final class StepTimes implements SubPixelPlans.Steps {
    private final SubPixelPlans.Steps on;
    private final List<String> labels = new ArrayList<>();
    private final List<CUevent_st> events = new ArrayList<>();

    StepTimes(SubPixelPlans.Steps on) { this.on = on; }

    private void timed(String label, Runnable step) {
        CUevent_st start = event(), stop = event();
        Cuda.check(cudart.cudaEventRecord(start, CudaContext.get().stream()), "cudaEventRecord");
        step.run();
        Cuda.check(cudart.cudaEventRecord(stop, CudaContext.get().stream()), "cudaEventRecord");
        labels.add(label);
        events.add(start);
        events.add(stop);
    }

    private static CUevent_st event() {
        CUevent_st e = new CUevent_st();
        Cuda.check(cudart.cudaEventCreate(e), "cudaEventCreate");
        return e;
    }

    /** Milliseconds per label, summed over the steps timed since the last drain (waits for them); the events freed. */
    Map<String, Double> drain() {
        Map<String, Double> ms = new LinkedHashMap<>();
        float[] t = new float[1];
        try {
            if (!events.isEmpty()) Cuda.check(cudart.cudaEventSynchronize(events.getLast()), "cudaEventSynchronize");
            for (int i = 0; i < labels.size(); i++) {
                Cuda.check(cudart.cudaEventElapsedTime(t, events.get(2 * i), events.get(2 * i + 1)), "cudaEventElapsedTime");
                ms.merge(labels.get(i), (double) t[0], Double::sum);
            }
        } finally {
            events.forEach(cudart::cudaEventDestroy);
            events.clear();
            labels.clear();
        }
        return ms;
    }

    @Override public SubPixelPlans.Scratch scratch(long floats) { return on.scratch(floats); }

    @Override public void zero(long address, long floats) { timed("zero", () -> on.zero(address, floats)); }

    @Override public void splitWeights(Dims d, long w, long split) { timed("splitWeights", () -> on.splitWeights(d, w, split)); }

    @Override public void unsplitWeights(Dims d, long split, long dw) { timed("unsplitWeights", () -> on.unsplitWeights(d, split, dw)); }

    @Override public void gather(Dims d, Phase p, long dy, long cols) { timed("gather", () -> on.gather(d, p, dy, cols)); }

    @Override public boolean gathersParts() { return on.gathersParts(); }

    @Override public void gatherParts(Dims d, Phase p, long dy, long dst, String parts, long partStride) {
        timed("gather " + parts, () -> on.gatherParts(d, p, dy, dst, parts, partStride));
    }

    @Override public void movePixels(Shape x, ConvGeometry g, Phase p, long nchw, long block, boolean toBlock) {
        timed("movePixels", () -> on.movePixels(x, g, p, nchw, block, toBlock));
    }

    @Override public void sumPhases(Dims d, long outs, long slot, long y) { timed("sumPhases", () -> on.sumPhases(d, outs, slot, y)); }

    @Override public int weightSplits(int m, int n, int k) { return on.weightSplits(m, n, k); }

    @Override public void unfold(UnfoldPlans.Dims d, long x, long cols) { timed("unfold", () -> on.unfold(d, x, cols)); }

    @Override public void fold(UnfoldPlans.Dims d, long dcols, long dx) { timed("fold", () -> on.fold(d, dcols, dx)); }

    @Override public void rowsToNchw(UnfoldPlans.Dims d, long partials, int slices, long y) {
        timed("rowsToNchw " + slices, () -> on.rowsToNchw(d, partials, slices, y));
    }

    @Override public void nchwToRows(UnfoldPlans.Dims d, long dy, long rows) { timed("nchwToRows", () -> on.nchwToRows(d, dy, rows)); }

    @Override public void sumSlices(long src, int slices, long floats, long dst) {
        timed("sumSlices " + slices + "×" + floats, () -> on.sumSlices(src, slices, floats, dst));
    }

    @Override public void gemm(boolean transA, boolean transB, int m, int n, int k, long a, int lda, long b, int ldb, long c, int ldc,
                               boolean accumulate, boolean tf32) {
        String label = (tf32 ? "gemm tf32 " : "gemm sgemm ") + (transA ? "T" : "N") + (transB ? "T" : "N") + " m" + m + " n" + n + " k" + k;
        timed(label, () -> on.gemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, tf32));
    }

    @Override public void gemmBatched(boolean transA, boolean transB, int m, int n, int k, long a, int lda, long strideA, long b, int ldb, long strideB,
                                      long c, int ldc, long strideC, int batch, boolean accumulate, boolean tf32) {
        String label = (tf32 ? "gemm tf32 " : "gemm sgemm ") + batch + "× " + (transA ? "T" : "N") + (transB ? "T" : "N") + " m" + m + " n" + n + " k" + k;
        timed(label, () -> on.gemmBatched(transA, transB, m, n, k, a, lda, strideA, b, ldb, strideB, c, ldc, strideC, batch, accumulate, tf32));
    }

    @Override public void tf32Parts(long src, long dst, long rows, int cols, String parts, long partStride, long rowStride) {
        timed("tf32Parts " + parts + " " + rows + "×" + cols, () -> on.tf32Parts(src, dst, rows, cols, parts, partStride, rowStride));
    }
}
