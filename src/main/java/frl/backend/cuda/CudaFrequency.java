package frl.backend.cuda;

import frl.backend.Shapes;
import frl.freq.FilterSpec;
import frl.freq.HighPass;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.bytedeco.cuda.cudart.float2;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.cufft;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;

import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * FRL's high-frequency channel on the GPU (src/main/cuda/frequency.cu): x [N, C, H, W] (C = 1 or 3, values
 * in [0,1]) → x_H [N, 1, H, W] = (hp(g) + 1) / 2 of the BT.601 gray plane g, or x_F = [x, x_H] [N, C+1, H, W].
 * <ul>
 *   <li>Direct ({@link #highPass}, {@link #frlInput}): the separable Gaussian with zero padding, in double, in
 *       {@link HighPass}'s order: the result is HighPass's bit for bit. One block per image through shared
 *       memory for k ≤ 15 and planes up to ~50×50 (for planes up to 32×32 by resident blocks that load the next
 *       image during the passes; -Dfrl.cuda.hf=block turns that off; -Dfrl.cuda.hf=warp takes one warp per one-channel
 *       image instead, -Dfrl.cuda.hf=tile eight lanes per image of up to 32 columns); otherwise two grid-stride passes
 *       through a global scratch.
 *       With -Dfrl.cuda.hfSums=exact the shared-memory kernels take a cheaper order for each image on which no sum
 *       rounds ({@link HighPass#exactSumsBelow}): the same bits.</li>
 *   <li>FFT ({@link #highPassFft}, {@link #frlInputFft}): any {@link FilterSpec}; batched cuFFT R2C over the
 *       zero-padded gray planes, times the gain (computed by FilterSpec in double, shared with the CPU twin
 *       frl.freq.FrequencyFilter), C2R, crop. Plans are cached per (hp, wp, batch) and bound to the context's
 *       stream. Float32 FFTs: agrees with the direct path and the CPU twin to float rounding, not bitwise.</li>
 * </ul>
 * The output is a new tensor owned by the innermost scope; it must not be x.
 */
public final class CudaFrequency {
    private CudaFrequency() {}

    private static final String FAMILY = "frequency";
    /** HF_P in frequency.cu: outputs per thread of a pass. */
    static final int P = 4;
    /** The largest k of the tile kernels (their windows of K rows in registers spill past it). */
    static final int TILE_MAX_K = 5;
    /** Dynamic shared memory the one-block-per-image kernel may use (the default limit, no opt-in). */
    static final int SHARED_LIMIT = 48 * 1024;
    /** Largest real FFT buffer of one batch, in floats (512 MiB); bigger batches are split (tests lower it). */
    static volatile long maxFftFloats = 1L << 27;
    private static final int MAX_PLANS = 8, MAX_CONSTANTS = 64;

    private static final Kernel[] DIRECT = new Kernel[16];
    static {
        for (int k = 1; k <= 15; k += 2) DIRECT[k] = new Kernel(FAMILY, "hf_direct_k" + k, "ppaa");
    }
    private static final Kernel[][] STREAM = new Kernel[2][16]; // [C == 3][k]
    static {
        for (int k = 1; k <= 15; k += 2) {
            STREAM[0][k] = new Kernel(FAMILY, "hf_stream_c1_k" + k, "ppaa");
            STREAM[1][k] = new Kernel(FAMILY, "hf_stream_c3_k" + k, "ppaa");
        }
    }
    private static final Kernel[] WARP = new Kernel[16]; // one-channel planes up to 32 × 32, by k
    static {
        for (int k = 1; k <= 15; k += 2) WARP[k] = new Kernel(FAMILY, "hf_warp_c1_k" + k, "ppaa");
    }
    private static final Kernel[][] TILE = new Kernel[2][16]; // [C == 3][k]: planes up to 32 columns, W a multiple of 4
    static {
        for (int k = 1; k <= TILE_MAX_K; k += 2) {
            TILE[0][k] = new Kernel(FAMILY, "hf_tile_c1_k" + k, "ppaa");
            TILE[1][k] = new Kernel(FAMILY, "hf_tile_c3_k" + k, "ppaa");
        }
    }
    private static final Kernel ROWS = new Kernel(FAMILY, "hf_rows_global", "pppa");
    private static final Kernel COLS = new Kernel(FAMILY, "hf_cols_global", "ppppa");
    private static final Kernel PAD = new Kernel(FAMILY, "fft_pad", "ppa");
    private static final Kernel MULTIPLY = new Kernel(FAMILY, "fft_multiply", "ppii");
    private static final Kernel CROP = new Kernel(FAMILY, "fft_crop", "pppa");
    static final Kernel FILL_BYTES = new Kernel(FAMILY, "fill_bytes_hash", "pli");

    // ---------------------------------------------------------------- direct path

    /** x_H [N, 1, H, W] with OpenCV's k-tap Gaussian: {@link HighPass}(k), bitwise. */
    public static Tensor highPass(Tensor x, int k) { return direct("highPass", x, HighPass.gaussianKernel(k), false); }

    /** x_H [N, 1, H, W] for a GAUSSIAN spec (any σ, any odd k): HighPass(spec.taps()), bitwise. */
    public static Tensor highPass(Tensor x, FilterSpec spec) { return direct("highPass", x, spatialTaps(spec), false); }

    /** x_F = [x, x_H] [N, C+1, H, W] in one pass: {@link frl.freq.FrlInput#build}, bitwise. */
    public static Tensor frlInput(Tensor x, int k) { return direct("frlInput", x, HighPass.gaussianKernel(k), true); }

    private static double[] spatialTaps(FilterSpec spec) {
        if (spec.kind() != FilterSpec.Kind.GAUSSIAN)
            throw new IllegalArgumentException("highPass: the direct path takes a GAUSSIAN spec, got " + spec.kind() + " (use highPassFft)");
        return spec.taps();
    }

    /**
     * The kernel of the direct path where they apply: TILE (the default since 2026-11-28: eight lanes per image, rows
     * streamed through registers, {@link #tilePath}; on an H200, 0.181 ms for 65,536 gray 32×32 planes, 74% of a copy),
     * STREAM (resident blocks that walk the images, loading the next while working on this one: 0.305 ms;
     * -Dfrl.cuda.hf=stream, and where the tile kernel does not apply), BLOCK (one block per image through shared
     * memory: 0.384 ms; -Dfrl.cuda.hf=block) or WARP (one warp per one-channel image, {@link #warpPath}: 0.288 ms;
     * -Dfrl.cuda.hf=warp). All bit for bit HighPass.
     */
    enum Direct {
        BLOCK, STREAM, WARP, TILE;

        static Direct chosen() {
            return switch (CudaFlags.oneOf("frl.cuda.hf", "tile", "block", "stream", "warp", "tile")) {
                case "block" -> BLOCK;
                case "warp" -> WARP;
                case "tile" -> TILE;
                default -> STREAM;
            };
        }
    }

    /**
     * Whether the warp kernel takes this shape (-Dfrl.cuda.hf=warp, off: on the H200, 2026-11-28, the bare filter took
     * 0.284 ms against the streaming kernel's 0.287, and the FRL input with exact sums 0.326 against 0.315; elsewhere
     * the streaming kernel's rule): one channel, planes up to 32 × 32, one lane per column and one warp per image, no shared memory
     * and no barrier, where the block kernels wait at three barriers per image (0.307 ms on the H200, 1,200 SM cycles
     * an image, where a copy of the same bytes took about 530).
     */
    static boolean warpPath(int c, int h, int w, int k) { return c == 1 && h <= 32 && w <= 32 && k < WARP.length && WARP[k] != null; }

    /**
     * Whether the tile kernel takes this shape (-Dfrl.cuda.hf=tile, the default; its tests passed on the H200, 2026-11-28): planes of at most 32
     * columns, W a multiple of 4 (a lane's four columns are one float4), any height, k ≤ {@link #TILE_MAX_K}. Each of
     * eight lanes of an image holds four columns; the rows stream down through a register window of k rows, the
     * horizontal neighbours come by shuffles. Why, an estimate from the sm_90 cubins' sizes (nvcc 13.0, k = 5), not
     * a profile: the warp kernel is 5,504 instructions, its rows unrolled in both orders of sums, so about 2,750 run
     * an image; the streaming kernel's 1,032, run by eight warps an image, about 3,400. At four issues per SM cycle
     * that is 700–850 cycles an image, where 70% of a copy allows about 750. The tile kernel is 1,584 instructions;
     * built with one order of sums alone, 1,080, whose loop of five rows a warp runs seven times for four 32-row
     * images: under 1,900 an image.
     */
    static boolean tilePath(int c, int h, int w, int k) { return w % 4 == 0 && w <= 32 && k <= TILE_MAX_K && TILE[c / 3][k] != null; }

    /** Resident blocks per SM of the warp kernels (HF_WARP_BLOCKS in frequency.cu). */
    static int warpBlocksPerSm(int k) { return k <= 5 ? 3 : 2; }

    /**
     * Whether the shared-memory kernels sum in the cheaper order where that is exact: -Dfrl.cuda.hfSums=exact (off,
     * "ordered", by default: on the H200 it left the streaming kernel at 0.286 ms and took the warp kernel from 0.284
     * to 0.267). On a one-channel image whose values are all 0 or of magnitude in
     * [2^-8, {@link HighPass#exactSumsBelow}) (8-bit images qualify) and with symmetric dyadic taps (OpenCV's for
     * k ≤ 9), no sum of HighPass rounds, so its value comes out of any exact order: the taps folded by FMAs, 12
     * double operations a pixel for k = 5 instead of 21. The kernel checks the values of each image.
     */
    static boolean exactSums() { return CudaFlags.oneOf("frl.cuda.hfSums", "ordered", "ordered", "exact").equals("exact"); }

    /** The bits of the bound under which a kernel may sum exactly (frequency.cu's v[12]); 0: always in order. */
    static int exactSumsBits(int c, double[] taps, boolean exactSums) {
        if (!exactSums || c != 1) return 0;
        for (int j = 0; j < taps.length / 2; j++) if (taps[j] != taps[taps.length - 1 - j]) return 0; // the kernel folds
        return Float.floatToRawIntBits(HighPass.exactSumsBelow(taps));
    }

    /** Whether the streaming kernel takes this shape: one strip of P rows per warp and one column per lane. */
    static boolean streamPath(int h, int w, int k) { return h <= P * Kernel.BLOCK / 32 && w <= 32 && sharedPath(h, w, k); }

    /** Resident blocks per SM of the streaming kernels (HF_STREAM_BLOCKS in frequency.cu). */
    static int streamBlocksPerSm(int c, int k) { return k <= 7 && c == 1 ? 6 : k <= 9 ? 4 : 3; }

    /** Whether the one-block-per-image kernel takes this shape (else the two global passes run). */
    static boolean sharedPath(int h, int w, int k) {
        return k < DIRECT.length && DIRECT[k] != null && sharedBytes(h, w, k) <= SHARED_LIMIT;
    }

    /** gT [WR][HP] and ts [HR][WP] doubles: see frequency.cu. */
    static long sharedBytes(int h, int w, int k) {
        int r = k / 2;
        long hPitch = h | 1, wPitch = w | 1;
        long wRows = ceilDiv(w, P) * (long) P + 2L * r, hRows = ceilDiv(h, P) * (long) P + 2L * r;
        return 8 * (wRows * hPitch + hRows * wPitch);
    }

    private static Tensor direct(String op, Tensor x, double[] taps, boolean withInput) {
        return direct(op, x, taps, withInput, Direct.chosen(), exactSums());
    }

    /** The direct path with its kernel and order chosen (tests run each). */
    static Tensor direct(String op, Tensor x, double[] taps, boolean withInput, Direct kernel, boolean exactSums) {
        int[] d = images(op, x);
        int n = d[0], c = d[1], h = d[2], w = d[3], k = taps.length, plane = h * w, outC = withInput ? c + 1 : 1;
        if (k % 2 == 0) throw new IllegalArgumentException("HighPass: kernel size must be odd and positive, got " + k);
        Tensor out = CudaBackend.alloc(Shape.of(n, outC, h, w));
        if (out.numel() == 0) return out;   // a launch with no blocks is an error
        int[] g = geometry(n, c, h, w, withInput, taps, exactSums);
        if (!launchDirect(x, out, taps, g, kernel)) {
            synchronized (CudaFrequency.class) { // the taps stay cached until both kernels are queued
                long tapsDev = constant("taps" + Arrays.toString(taps), () -> taps);
                try (Tensor tmp = Scope.detach(CudaBackend.alloc(Shape.of(n, h, w, 2)))) { // doubles [N, H, W]
                    ROWS.launchN((long) n * plane, x, tmp, tapsDev, g);
                    COLS.launchN((long) n * plane, x, tmp, out, tapsDev, g);
                } // freed to the cache: only work queued after these kernels can reuse it
            }
        }
        return out;
    }

    /** The direct kernels' FrlInts for n images [c, h, w] (frequency.cu's HfPlane reads them). */
    static int[] geometry(int n, int c, int h, int w, boolean withInput, double[] taps, boolean exactSums) {
        int k = taps.length, r = k / 2, plane = h * w;
        return new int[] {n, c, h, w, (withInput ? c + 1 : 1) * plane, withInput ? c * plane : 0, withInput ? 1 : 0, k,
                          h | 1, w | 1, ceilDiv(w, P) * P + 2 * r, ceilDiv(h, P) * P + 2 * r, exactSumsBits(c, taps, exactSums)};
    }

    /**
     * The one-kernel paths over x and out (tensors or device addresses) for the images of g: the warp, streaming or
     * one-block-per-image kernel as kernel and the shape allow; false where none takes the shape (the two passes then).
     */
    static boolean launchDirect(Object x, Object out, double[] taps, int[] g, Direct kernel) {
        int n = g[0], c = g[1], h = g[2], w = g[3], k = taps.length;
        if (kernel == Direct.TILE && tilePath(c, h, w, k) && address(x) % 16 == 0 && address(out) % 16 == 0) {
            long perBlock = Kernel.BLOCK / 8; // four images a warp
            TILE[c / 3][k].launch((int) Math.ceilDiv(n, perBlock), 1, 1, Kernel.BLOCK, 1, 1, 0, x, out, tapBits(taps), g);
        } else if (kernel == Direct.WARP && warpPath(c, h, w, k)) {
            long perBlock = Kernel.BLOCK / 32;
            int blocks = (int) Math.min(Math.ceilDiv(n, perBlock), (long) Kernel.multiprocessors() * warpBlocksPerSm(k));
            WARP[k].launch(blocks, 1, 1, Kernel.BLOCK, 1, 1, 0, x, out, tapBits(taps), g);
        } else if (kernel != Direct.BLOCK && streamPath(h, w, k)) {
            int blocks = Math.min(n, Kernel.multiprocessors() * streamBlocksPerSm(c, k));
            STREAM[c / 3][k].launch(blocks, 1, 1, Kernel.BLOCK, 1, 1, (int) sharedBytes(h, w, k), x, out, tapBits(taps), g);
        } else if (sharedPath(h, w, k)) {
            DIRECT[k].launch(n, 1, 1, Kernel.BLOCK, 1, 1, (int) sharedBytes(h, w, k), x, out, tapBits(taps), g);
        } else return false;
        return true;
    }

    /** A device address given as a tensor or a long (launchDirect's x and out). */
    private static long address(Object p) { return p instanceof Tensor t ? t.storage().address() : (Long) p; }

    /** Up to 16 doubles as the int[32] of a kind-'a' parameter (frequency.cu's HfTaps): low word first, as in memory. */
    static int[] tapBits(double[] taps) {
        if (taps.length > Kernel.MAX_INTS / 2) throw new IllegalArgumentException("tapBits: at most " + Kernel.MAX_INTS / 2 + " taps, got " + taps.length);
        int[] v = new int[Kernel.MAX_INTS];
        for (int i = 0; i < taps.length; i++) {
            long b = Double.doubleToRawLongBits(taps[i]);
            v[2 * i] = (int) b;
            v[2 * i + 1] = (int) (b >>> 32);
        }
        return v;
    }

    // ---------------------------------------------------------------- FFT path

    /** x_H [N, 1, H, W] of any filter through cuFFT. */
    public static Tensor highPassFft(Tensor x, FilterSpec spec) { return fft("highPassFft", x, spec, false); }

    /** x_F = [x, x_H] [N, C+1, H, W] with x_H through cuFFT. */
    public static Tensor frlInputFft(Tensor x, FilterSpec spec) { return fft("frlInputFft", x, spec, true); }

    private static synchronized Tensor fft(String op, Tensor x, FilterSpec spec, boolean withInput) {
        int[] d = images(op, x);
        int n = d[0], c = d[1], h = d[2], w = d[3], plane = h * w, outC = withInput ? c + 1 : 1;
        int hp = spec.paddedSize(h), wp = spec.paddedSize(w), wc = wp / 2 + 1;
        if ((long) hp * wp > Integer.MAX_VALUE / 4) throw new IllegalArgumentException(op + ": padded plane " + hp + "x" + wp + " is too large");
        Tensor out = CudaBackend.alloc(Shape.of(n, outC, h, w));
        long gain = constant("gain " + spec + " " + hp + "x" + wp, () -> halfGain(spec, hp, wp));
        int chunk = (int) Math.min(n, Math.max(1, maxFftFloats / ((long) hp * wp)));
        try (Tensor real = Scope.detach(CudaBackend.alloc(Shape.of(chunk, hp, wp)));
             Tensor spectrum = Scope.detach(CudaBackend.alloc(Shape.of(chunk, hp, wc, 2)))) {
            long in0 = x.storage().address(), out0 = out.storage().address();
            FloatPointer realPtr = new FloatPointer(new DevicePointer(real.storage().address()));
            float2 specPtr = new float2(new DevicePointer(spectrum.storage().address()));
            for (int s = 0; s < n; s += chunk) {
                int b = Math.min(chunk, n - s);
                Plan p = plan(hp, wp, b);
                long in = in0 + 4L * s * c * plane, o = out0 + 4L * s * outC * plane;
                int[] g = {b, c, h, w, outC * plane, withInput ? c * plane : 0, withInput ? 1 : 0, 0, hp, wp};
                PAD.launchPlanes(hp * wp, b, in, real, g);
                Cuda.checkCufft(cufft.cufftExecR2C(p.r2c, realPtr, specPtr), "cufftExecR2C(" + hp + "x" + wp + " x" + b + ")");
                MULTIPLY.launchPlanes(hp * wc, b, spectrum, gain, b, hp * wc);
                Cuda.checkCufft(cufft.cufftExecC2R(p.c2r, specPtr, realPtr), "cufftExecC2R(" + hp + "x" + wp + " x" + b + ")");
                CROP.launchPlanes(plane, b, real, in, o, g);
            }
        } // both buffers back to the cache, stream-ordered
        return out;
    }

    /** The gain on cuFFT's half spectrum [hp][wp/2+1], scaled by 1/(hp·wp) (the inverse's normalisation). */
    static double[] halfGain(FilterSpec spec, int hp, int wp) {
        int wc = wp / 2 + 1;
        double[] full = spec.transfer(hp, wp), half = new double[hp * wc];
        double scale = 1.0 / ((double) hp * wp);
        for (int u = 0; u < hp; u++)
            for (int v = 0; v < wc; v++) half[u * wc + v] = full[u * wp + v] * scale;
        return half;
    }

    private record PlanKey(int hp, int wp, int batch) {}

    private record Plan(int r2c, int c2r) {}

    private static final LinkedHashMap<PlanKey, Plan> PLANS = new LinkedHashMap<>(16, 0.75f, true);

    /** The cached R2C and C2R plans of a batch of hp × wp planes, bound to the context's stream. */
    private static Plan plan(int hp, int wp, int batch) {
        PlanKey key = new PlanKey(hp, wp, batch);
        Plan p = PLANS.get(key);
        if (p != null) return p;
        CudaContext ctx = CudaContext.get();
        if (PLANS.size() >= MAX_PLANS) {
            Iterator<Map.Entry<PlanKey, Plan>> it = PLANS.entrySet().iterator();
            Plan old = it.next().getValue();
            it.remove();
            ctx.sync("evicting a cuFFT plan"); // its last exec may still be queued
            Cuda.checkCufft(cufft.cufftDestroy(old.r2c), "cufftDestroy");
            Cuda.checkCufft(cufft.cufftDestroy(old.c2r), "cufftDestroy");
        }
        int wc = wp / 2 + 1;
        int r2c = makePlan(hp, wp, new int[] {hp, wp}, hp * wp, new int[] {hp, wc}, hp * wc, cufft.CUFFT_R2C, batch, "R2C");
        int c2r;
        try {
            c2r = makePlan(hp, wp, new int[] {hp, wc}, hp * wc, new int[] {hp, wp}, hp * wp, cufft.CUFFT_C2R, batch, "C2R");
        } catch (RuntimeException e) {
            cufft.cufftDestroy(r2c);
            throw e;
        }
        p = new Plan(r2c, c2r);
        PLANS.put(key, p);
        return p;
    }

    private static int makePlan(int hp, int wp, int[] inEmbed, int inDist, int[] outEmbed, int outDist, int type, int batch, String what) {
        int[] handle = new int[1];
        String call = "cufftPlanMany(" + what + " " + hp + "x" + wp + ", batch " + batch + ")";
        Cuda.checkCufft(cufft.cufftPlanMany(handle, 2, new int[] {hp, wp}, inEmbed, 1, inDist, outEmbed, 1, outDist, type, batch), call);
        int rc = cufft.cufftSetStream(handle[0], CudaContext.get().stream());
        if (rc != 0) {
            cufft.cufftDestroy(handle[0]);
            Cuda.checkCufft(rc, "cufftSetStream(" + what + ")");
        }
        return handle[0];
    }

    /** Plans in the cache (for tests). */
    static synchronized int cachedPlans() { return PLANS.size(); }

    // ---------------------------------------------------------------- shared helpers

    private record Constant(long address, long bytes) {}

    private static final LinkedHashMap<String, Constant> CONSTANTS = new LinkedHashMap<>(16, 0.75f, true);

    /**
     * A small double array uploaded once and cached by key (taps, gains); the least recently used is freed
     * past {@link #MAX_CONSTANTS}. Callers hold the class lock until the kernels that read it are queued.
     */
    private static long constant(String key, Supplier<double[]> values) {
        synchronized (CudaFrequency.class) {
            Constant c = CONSTANTS.get(key);
            if (c != null) return c.address;
            CudaContext ctx = CudaContext.get();
            if (CONSTANTS.size() >= MAX_CONSTANTS) {
                Iterator<Map.Entry<String, Constant>> it = CONSTANTS.entrySet().iterator();
                Constant old = it.next().getValue();
                it.remove();
                ctx.allocator().free(old.address, old.bytes); // stream-ordered reuse, like any freed block
            }
            double[] v = values.get();
            long bytes = 8L * Math.max(1, v.length), address = ctx.allocator().allocate(bytes);
            try (DoublePointer host = new DoublePointer(v)) {
                Cuda.check(cudart.cudaMemcpyAsync(new DevicePointer(address), host, 8L * v.length, cudart.cudaMemcpyHostToDevice, ctx.stream()),
                        "cudaMemcpyAsync(host to device, " + key + ")");
                ctx.sync("upload of " + key);
            }
            CONSTANTS.put(key, new Constant(address, bytes));
            return address;
        }
    }

    /** N, C, H, W of an image batch, checked: rank 4, F32 on cuda, C = 1 or 3, sizes the kernels index with int. */
    private static int[] images(String op, Tensor x) {
        CudaBackend.in(op, x);
        Shapes.requireRank(op, x, 4);
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        HighPass.requireChannels(c);
        if ((long) (c + 1) * h * w > Integer.MAX_VALUE / 2)
            throw new IllegalArgumentException(op + ": images of " + c + "x" + h + "x" + w + " are too large");
        return new int[] {n, c, h, w};
    }

    private static int ceilDiv(int a, int b) { return (a + b - 1) / b; }
}
