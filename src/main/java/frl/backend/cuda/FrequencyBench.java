package frl.backend.cuda;

import frl.freq.FilterSpec;
import frl.freq.HighPass;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.cudaDeviceProp;
import org.bytedeco.cuda.global.cudart;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Microbenchmark of the HF channel on n gray 32×32 images (n = 65536: 256 MiB in, 256 MiB out): a
 * device-to-device cudaMemcpyAsync of the batch (the napkin floor), the direct path (k = 5, FRL's
 * default) and the fused x_F build, each by the block and the streaming kernel (and by the streaming kernel with
 * exact sums: the inputs are 8-bit values, on which no sum rounds), by the warp kernel (in order and exact), by the tile
 * kernel (both orders, x_H and x_F), and the
 * cuFFT path with the same Gaussian. CUDA events around each call
 * after warm-up, the median of the repeats. GB/s counts the bytes each op must read and write (the logical
 * traffic: for the FFT path that is the same 512 MiB, not its padded intermediates).
 * {@code java ... frl.backend.cuda.FrequencyBench [n] [k] [repeats]}.
 */
public final class FrequencyBench {
    private FrequencyBench() {}

    public static Map<String, Object> run(int n) { return run(n, 5, 20); }

    /** A timed direct-path call: x_H alone, or the x_F build (withInput); its kernel and order of sums. */
    private record Run(String name, boolean withInput, CudaFrequency.Direct kernel, boolean exact) {}

    private static final List<Run> RUNS = List.of(
            new Run("direct", false, CudaFrequency.Direct.BLOCK, false), new Run("frl_input", true, CudaFrequency.Direct.BLOCK, false),
            new Run("direct_stream", false, CudaFrequency.Direct.STREAM, false), new Run("frl_input_stream", true, CudaFrequency.Direct.STREAM, false),
            new Run("direct_stream_exact", false, CudaFrequency.Direct.STREAM, true), new Run("frl_input_stream_exact", true, CudaFrequency.Direct.STREAM, true),
            new Run("direct_warp", false, CudaFrequency.Direct.WARP, false), new Run("direct_warp_exact", false, CudaFrequency.Direct.WARP, true),
            new Run("frl_input_warp_exact", true, CudaFrequency.Direct.WARP, true),
            new Run("direct_tile", false, CudaFrequency.Direct.TILE, false), new Run("direct_tile_exact", false, CudaFrequency.Direct.TILE, true),
            new Run("frl_input_tile", true, CudaFrequency.Direct.TILE, false), new Run("frl_input_tile_exact", true, CudaFrequency.Direct.TILE, true));

    public static Map<String, Object> run(int n, int k, int repeats) {
        if (n <= 0 || repeats <= 0) throw new IllegalArgumentException("FrequencyBench: n and repeats must be positive");
        CudaContext ctx = CudaContext.get();
        Map<String, Object> r = new LinkedHashMap<>();
        int h = 32, w = 32;
        long plane = (long) h * w, bytes = 4L * n * plane;
        cudaDeviceProp prop = new cudaDeviceProp();
        Cuda.check(cudart.cudaGetDeviceProperties(prop, 0), "cudaGetDeviceProperties");
        r.put("device", prop.name().getString());
        r.put("shape", n + "x1x" + h + "x" + w);
        r.put("k", k);
        r.put("repeats", repeats);
        r.put("direct_kernel", CudaFrequency.sharedPath(h, w, k) ? "shared memory, one block per image" : "two global passes");
        r.put("direct_stream_kernel", CudaFrequency.streamPath(h, w, k) ? "resident blocks, next image loaded during the passes" : "as direct_kernel");
        FilterSpec spec = FilterSpec.gaussian(k);
        r.put("fft_size", spec.paddedSize(h) + "x" + spec.paddedSize(w));
        try (Scope s = Scope.open()) {
            Tensor x = CudaBackend.alloc(Shape.of(n, 1, h, w));
            Tensor y = CudaBackend.alloc(Shape.of(n, 1, h, w));
            CudaFrequency.FILL_BYTES.launchN((long) n * plane, x, (long) n * plane, 7);
            double copy = time(ctx, repeats, () -> Cuda.check(cudart.cudaMemcpyAsync(new DevicePointer(y.storage().address()),
                    new DevicePointer(x.storage().address()), bytes, cudart.cudaMemcpyDeviceToDevice, ctx.stream()), "cudaMemcpyAsync(device to device)"));
            double[] taps = HighPass.gaussianKernel(k);
            Map<Run, Double> ms = new LinkedHashMap<>();
            for (Run run : RUNS)
                ms.put(run, time(ctx, repeats, () -> CudaFrequency.direct(run.withInput() ? "frlInput" : "highPass", x, taps, run.withInput(), run.kernel(),
                        run.exact()).close()));
            double fft = time(ctx, repeats, () -> CudaFrequency.highPassFft(x, spec).close());
            put(r, "copy", copy, 2 * bytes);
            ms.forEach((run, t) -> put(r, run.name(), t, (run.withInput() ? 3 : 2) * bytes));
            put(r, "fft", fft, 2 * bytes);
            ms.forEach((run, t) -> r.put(run.name() + "_over_copy", round(copy * (run.withInput() ? 1.5 : 1) / t, 3)));
            r.put("fft_over_copy", round(copy / fft, 3));
        }
        return r;
    }

    private static void put(Map<String, Object> r, String name, double ms, long bytes) {
        r.put(name + "_ms", round(ms, 4));
        r.put(name + "_GBps", round(bytes / (ms * 1e-3) / 1e9, 1));
    }

    private static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }

    /** Median milliseconds of one call, by CUDA events on the context's stream, after 3 warm-up calls. */
    private static double time(CudaContext ctx, int repeats, Runnable op) {
        for (int i = 0; i < 3; i++) op.run();
        ctx.sync("warm-up");
        CUevent_st start = new CUevent_st(), stop = new CUevent_st();
        Cuda.check(cudart.cudaEventCreate(start), "cudaEventCreate");
        Cuda.check(cudart.cudaEventCreate(stop), "cudaEventCreate");
        try {
            double[] ms = new double[repeats];
            float[] t = new float[1];
            for (int i = 0; i < repeats; i++) {
                Cuda.check(cudart.cudaEventRecord(start, ctx.stream()), "cudaEventRecord");
                op.run();
                Cuda.check(cudart.cudaEventRecord(stop, ctx.stream()), "cudaEventRecord");
                Cuda.check(cudart.cudaEventSynchronize(stop), "cudaEventSynchronize");
                Cuda.check(cudart.cudaEventElapsedTime(t, start, stop), "cudaEventElapsedTime");
                ms[i] = t[0];
            }
            Arrays.sort(ms);
            return repeats % 2 == 1 ? ms[repeats / 2] : (ms[repeats / 2 - 1] + ms[repeats / 2]) / 2;
        } finally {
            cudart.cudaEventDestroy(start);
            cudart.cudaEventDestroy(stop);
        }
    }

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 65536;
        int k = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int repeats = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        run(n, k, repeats).forEach((key, v) -> System.out.println(key + ": " + v));
    }
}
