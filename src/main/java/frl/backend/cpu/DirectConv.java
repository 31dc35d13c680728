package frl.backend.cpu;

import frl.tensor.Shape;
import frl.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Stride-1 convolutions without im2col or GEMM calls (Glow's 3×3 and PixelCNN++'s shifted convs). A chunk of
 * images is laid into zero-bordered planes of width Wp, channel by channel ({@link Planes}); output pixel
 * (oy, ox) of image b is column q = b·plane + oy·Wp + ox, and tap (c, i, j) reads the planes at q + off(c, i, j),
 * so the whole conv is one product whose B rows are shifted views of the planes, summed over every tap in
 * registers by {@link DirectConvKernels}. Neighbouring rows and images share their zero borders (a tap past a
 * row's right edge reads the next row's left border). Columns with ox ≥ ow (and the rows between images) are
 * computed and dropped: plane / (oh·ow) − 1 more work, 13% at 16×16, 27% at 8×8 and 56% at 4×4 for a 3×3 with
 * padding 1. The input gradient is the same product over dy's planes with the kernel flipped; the weight
 * gradient sums dy's planes (zero off the outputs) times the shifted input planes. Needs the Vector API.
 */
final class DirectConv {
    /**
     * Chunk budgets: columns, floats of planes, and floats of the product's output columns. The product's tiles read
     * a few columns of every plane, so its chunks stay small (L2), and so do its output columns, which the bias and
     * ReLU and then the copy to the tensor read again: a 4→512 3×3 at 16×16 (batch 8) took 0.30 ms with them
     * within 512 KiB, 0.48 ms with two images' 1.3 MiB. Each tile of the weight gradient runs over all of a chunk's
     * columns and then sums its accumulators' lanes, so longer chunks spread that cost: 8,192 columns in 4 MiB of
     * planes took PixelCNN++'s 160→80 2×3 weight gradient at 32×32 from 12.7 to 8.7 ms (batch 16) and left Glow's alone.
     */
    private static final Budget PRODUCT = new Budget(2048, 1 << 18, 1 << 17), GRADIENT = new Budget(8192, 1 << 20, Integer.MAX_VALUE);

    private record Budget(int cols, int floats, int outFloats) {
        /**
         * Images per chunk: about {@code cols} columns, planes within {@code floats}, {@code outRows} rows of output
         * columns within {@code outFloats}, no more than n / ways (the chunks' share of each thread); at least 1.
         */
        int images(Im2col geo, int n, int outRows, int ways) {
            Planes one = Planes.of(geo, 1);
            long byCols = cols / one.plane(), byFloats = floats / ((long) geo.channels() * one.plane()), byOut = outFloats / ((long) outRows * one.plane());
            return (int) Math.max(1, Math.min(Math.ceilDiv(n, ways), Math.min(byCols, Math.min(byFloats, byOut))));
        }
    }

    private DirectConv() {}

    /**
     * Taken, all three ways, for stride-1 convs other than a plain 1×1 (see appliesForward) whose padding before
     * the image is less than the kernel (so the input gradient is a padded conv too) and whose planes hold at most
     * {@link #MAX_PLANE_PER_OUTPUT} pixels per output pixel both ways (Glow's 3×3 at 4×4: 1.56; the VAE's 4×4 conv to
     * 1×1 would compute 16 columns per output, and stays with im2col), when the Vector API is present.
     */
    static boolean applies(Im2col g) {
        if (g.sh() != 1 || g.sw() != 1 || g.isIdentity() || g.top() >= g.kh() || g.left() >= g.kw() || !VectorSupport.present()) return false;
        Planes forward = Planes.of(g, 1);
        long adjointPlane = Planes.of(adjoint(g, 1), 1).plane();   // the input gradient's planes (dy padded)
        return (long) g.channels() * forward.plane() <= Integer.MAX_VALUE / 4
                && forward.plane() <= MAX_PLANE_PER_OUTPUT * g.oh() * g.ow() && adjointPlane <= MAX_PLANE_PER_OUTPUT * g.h() * g.w();
    }

    /**
     * Whether the forward conv and its input gradient take the direct path: every conv {@link #applies} to, and plain
     * 1×1s too, whose planes are the images as they are. Those ran as GEMMs per image before, as fast at Glow's 4×4
     * and 8×8 and 1.2–1.6× slower elsewhere (16×16, and 512 channels at 8×8). Their weight gradient stays with GEMM,
     * 1.2–9× faster there.
     */
    static boolean appliesForward(Im2col g) { return applies(g) || (g.isIdentity() && VectorSupport.present()); }

    /** Plane pixels per output pixel beyond which the planes' dropped columns cost more than im2col (see applies). */
    static final double MAX_PLANE_PER_OUTPUT = 2.5;

    /** y [N, K, oh, ow] of x [N, C, h, w] and w [K, C, kh, kw]. */
    static Tensor conv2d(Tensor x, Tensor w, Im2col geo, Shape yShape) { return conv2dBiasRelu(x, w, null, geo, yShape); }

    /** relu(y + bias[k]) for each output channel k, applied as y is written; y itself where bias is null. */
    static Tensor conv2dBiasRelu(Tensor x, Tensor w, float[] bias, Im2col geo, Shape yShape) {
        return product(x, packRows(w.toFloats(), w.dim(0), geo.channels(), geo.kh(), geo.kw(), false), w.dim(0), geo, yShape, bias);
    }

    /** dx [N, C, h, w]: dy's planes under the flipped kernel, a stride-1 conv with padding kh−1−top, kw−1−left. */
    static Tensor backwardInput(Tensor dy, Tensor w, Shape xShape, Im2col geo) {
        float[] packed = packRows(w.toFloats(), w.dim(0), geo.channels(), geo.kh(), geo.kw(), true);
        return product(dy, packed, geo.channels(), adjoint(geo, w.dim(0)), xShape, null);
    }

    /** The input gradient's geometry: dy's k channels [oh, ow] in, padded so the flipped kernel gives x's [h, w]. */
    private static Im2col adjoint(Im2col g, int k) {
        return new Im2col(k, g.oh(), g.ow(), g.kh(), g.kw(), g.h(), g.w(), 1, 1, g.kh() - 1 - g.top(), g.kw() - 1 - g.left());
    }

    /**
     * dW [K, C·kh·kw] = Σ over images and output pixels of dy times the input under each tap, chunk by chunk over the
     * batch. Where each core's share of the images fills a whole chunk, each core sums its own images ({@link
     * #byImages}); where it would not (small planes: a core's chunk of Glow's 512 channels at 8×8, batch 8, was 360
     * columns), both cores work on each chunk of the whole batch ({@link #byTiles}), whose longer columns spread the
     * cost of summing each tile's lanes.
     */
    static Tensor backwardWeight(Tensor x, Tensor dy, Shape wShape, Im2col geo) {
        int n = x.dim(0), k = wShape.dim(0), rows = roundUp(k, DirectConvKernels.GRAD_ROWS);
        int taps = geo.rows(), tapsPadded = roundUp(taps, DirectConvKernels.GRAD_TAPS);
        int share = GRADIENT.images(geo, n, rows, Parallel.threads()), whole = GRADIENT.images(geo, n, rows, 1);
        float[] sums = whole > share ? byTiles(x, dy, k, rows, tapsPadded, Planes.of(geo, whole))
                : byImages(x, dy, k, rows, tapsPadded, Planes.of(geo, share));
        float[] dw = new float[k * taps];
        for (int r = 0; r < k; r++) System.arraycopy(sums, r * tapsPadded, dw, r * taps, taps);
        return CpuBackend.instance().fromHost(wShape, dw);
    }

    /** The sums [rows, tapsPadded] by the cores' shares of the images, each in its own chunks, added in a fixed order. */
    private static float[] byImages(Tensor x, Tensor dy, int k, int rows, int tapsPadded, Planes planes) {
        int n = x.dim(0), ld = planes.cols(), tiles = tiles(rows, tapsPadded);
        int[] off = Arrays.copyOf(planes.offsets(), tapsPadded);   // padding taps read column 0; their sums are dropped
        int parts = Chunks.count(n, 1);
        float[][] partial = new float[parts][];
        MemorySegment xs = x.segment(), dys = dy.segment();
        Chunks.run(n, parts, (part, from, to) -> {
            float[] xp = new float[planes.floats()], dyp = new float[rows * ld], sums = new float[rows * tapsPadded];
            for (int n0 = (int) from; n0 < to; n0 += planes.images()) {
                int count = (int) Math.min(planes.images(), to - n0);
                planes.pack(xs, n0, count, xp);
                planes.outputs().scatter(dys, n0, 0, count, k, dyp, ld);
                planes.outputs().clearTail(count, k, dyp, ld);
                DirectConvKernels.weightGradient(dyp, ld, xp, off, planes.colsFor(count), sums, 0, tiles);
            }
            partial[part] = sums;
        });
        float[] sums = new float[rows * tapsPadded];
        for (float[] part : partial)                // parts in a fixed order: the same bits whatever the timing
            for (int i = 0; i < sums.length; i++) sums[i] += part[i];
        return sums;
    }

    /**
     * The sums [rows, tapsPadded] chunk by chunk over the whole batch, each chunk by all cores: its images packed and
     * scattered by the cores' shares of them, then its tiles (rows × taps, row-major) split between the cores. Each sum
     * is one tile's, in the same order whatever the number of cores.
     */
    private static float[] byTiles(Tensor x, Tensor dy, int k, int rows, int tapsPadded, Planes planes) {
        int n = x.dim(0), ld = planes.cols(), tiles = tiles(rows, tapsPadded);
        int[] off = Arrays.copyOf(planes.offsets(), tapsPadded);
        float[] xp = new float[planes.floats()], dyp = new float[rows * ld], sums = new float[rows * tapsPadded];
        MemorySegment xs = x.segment(), dys = dy.segment();
        for (int n0 = 0; n0 < n; n0 += planes.images()) {
            int start = n0, count = Math.min(planes.images(), n - n0), cols = planes.colsFor(count);
            planes.outputs().clearTail(count, k, dyp, ld);
            Parallel.forRange(count, 1, (b0, b1) -> {
                planes.pack(xs, start, b0, b1, xp);
                planes.outputs().scatter(dys, start, b0, b1, k, dyp, ld);
            });
            Parallel.forRange(tiles, 1, (t0, t1) -> DirectConvKernels.weightGradient(dyp, ld, xp, off, cols, sums, t0, t1));
        }
        return sums;
    }

    /** The weight gradient's tiles: GRAD_ROWS rows × GRAD_TAPS taps each. */
    private static int tiles(int rows, int tapsPadded) { return rows / DirectConvKernels.GRAD_ROWS * (tapsPadded / DirectConvKernels.GRAD_TAPS); }

    /**
     * out [N, rows, oh, ow] = the packed kernel times the planes of in under geo, chunk by chunk over the batch; with
     * {@code bias}, relu(out + bias[row]).
     */
    private static Tensor product(Tensor in, float[] packed, int outChannels, Im2col geo, Shape outShape, float[] bias) {
        Tensor out = CpuBackend.alloc(outShape);
        int rows = roundUp(outChannels, DirectConvKernels.ROWS);
        Planes planes = Planes.of(geo, PRODUCT.images(geo, in.dim(0), rows, Parallel.threads()));
        int[] off = planes.offsets();
        MemorySegment ins = in.segment(), outs = out.segment();
        Parallel.forRange(in.dim(0), 1, (from, to) -> {
            float[] xp = new float[planes.floats()], yp = new float[rows * planes.cols()];
            for (int n0 = from; n0 < to; n0 += planes.images()) {
                int count = Math.min(planes.images(), to - n0);
                planes.pack(ins, n0, count, xp);
                DirectConvKernels.product(packed, geo.rows(), off, xp, yp, rows, planes.colsFor(count), planes.cols());
                if (bias != null)   // on the columns while they are in cache, in whole vectors (rows are a multiple of them)
                    for (int r = 0; r < outChannels; r++) DirectConvKernels.biasRelu(yp, r * planes.cols(), planes.colsFor(count), bias[r]);
                planes.outputs().gather(yp, planes.cols(), count, outChannels, outs, n0);
            }
        });
        return out;
    }

    /**
     * The kernel in {@link DirectConvKernels#ROWS}-row panels: panel p holds, tap by tap ((c·kh + i)·kw + j), the
     * weights of output channels p·ROWS … p·ROWS + ROWS − 1 (zeros past the last). Flipped: the input gradient's
     * kernel, output channel c over input channel k at tap (kh−1−i, kw−1−j). Weight (row r, tap t) is w[row(r) +
     * col(t)]; a panel is written in order, tap by tap, and panels are packed on all cores: written row by row across
     * all panels (8 floats apart), the kernel of a 512×512 1×1 took 0.78 ms to pack, a fifth of its conv.
     */
    static float[] packRows(float[] w, int k, int c, int kh, int kw, boolean flipped) {
        int outs = flipped ? c : k, ins = flipped ? k : c, hw = kh * kw, taps = ins * hw, panel = DirectConvKernels.ROWS;
        int[] col = new int[taps];
        for (int t = 0; t < taps; t++) col[t] = flipped ? t / hw * c * hw + hw - 1 - t % hw : t;
        float[] packed = new float[roundUp(outs, panel) * taps];
        Parallel.forRange(Math.ceilDiv(outs, panel), Math.max(1, Chunks.GRAIN / taps / panel), (p0, p1) -> {   // panels apart
            int[] row = new int[panel];
            for (int p = p0; p < p1; p++) {
                int o0 = p * panel, at = o0 * taps, rows = Math.min(panel, outs - o0);
                for (int r = 0; r < rows; r++) row[r] = (o0 + r) * (flipped ? hw : taps);
                if (rows == panel) DirectConvKernels.gatherPanel(w, row, col, packed, at);
                else
                    for (int t = 0; t < taps; t++)
                        for (int r = 0; r < rows; r++) packed[at + t * panel + r] = w[row[r] + col[t]];
            }
        });
        return packed;
    }

    static int roundUp(int v, int m) { return Math.ceilDiv(v, m) * m; }

    /**
     * A chunk of {@code images} images of geo's input in zero-bordered planes Hp×Wp, channel c's planes one
     * after another from c·images·plane (image b at b·plane, pixel (y, x) at (y + top)·Wp + x + left). A tap
     * reads columns ox + j &lt; ow + kw − 1 of a row: those past Wp are the next row's first, which must be its
     * left border, so Wp ≥ ow + kw − 1 − left; rows past an image's last are the next image's top border
     * likewise, so Hp ≥ oh + kh − 1 − top. Borders between rows and images are shared so.
     */
    record Planes(Im2col geo, int images, int hp, int wp) {
        static Planes of(Im2col g, int images) {
            return new Planes(g, images, Math.max(g.top() + g.h(), g.oh() + g.kh() - 1 - g.top()),
                    Math.max(g.left() + g.w(), g.ow() + g.kw() - 1 - g.left()));
        }

        int plane() { return hp * wp; }

        int channelStride() { return images * plane(); }

        /** Columns a chunk of {@code count} images computes: up to its last output, as {@link DirectConvKernels#columns}. */
        int colsFor(int count) { return DirectConvKernels.columns((count - 1) * plane() + (geo.oh() - 1) * wp + geo.ow()); }

        int cols() { return colsFor(images); }

        /** Floats of the planes, with room for the furthest tap of the last column (an exception past 2³¹, never a wrapped size). */
        int floats() {
            long stride = (long) images * plane(), c = geo.channels();
            return Math.toIntExact(Math.max(c * stride, (c - 1) * stride + (long) (geo.kh() - 1) * wp + geo.kw() - 1 + cols()));
        }

        /** Where tap (c, i, j) reads column 0. */
        int[] offsets() {
            int[] off = new int[geo.rows()];
            for (int c = 0; c < geo.channels(); c++)
                for (int i = 0; i < geo.kh(); i++)
                    for (int j = 0; j < geo.kw(); j++) off[(c * geo.kh() + i) * geo.kw() + j] = c * channelStride() + i * wp + j;
            return off;
        }

        /** Lays images [n0, n0 + count) of {@code src} into the planes (borders stay 0: only pixels are written). */
        void pack(MemorySegment src, int n0, int count, float[] planes) { pack(src, n0, 0, count, planes); }

        /** The same for the chunk's images [from, to) only: images n0 + from … n0 + to − 1. */
        void pack(MemorySegment src, int n0, int from, int to, float[] planes) {
            int c = geo.channels(), h = geo.h(), w = geo.w();
            for (int b = from; b < to; b++)
                for (int ch = 0; ch < c; ch++)
                    DirectConvKernels.copyRows(src, (n0 + b) * geo.imageSize() + (long) ch * h * w, w,
                            planes, ch * channelStride() + b * plane() + geo.top() * wp + geo.left(), wp, h, w);
        }

        /** Where the outputs sit in the columns: oh×ow pixels at q = b·plane + oy·Wp + ox. */
        Outputs outputs() { return new Outputs(geo.oh(), geo.ow(), wp, plane()); }
    }

    /** The output pixels' columns of a chunk: image b's pixel (oy, ox) at column b·plane + oy·wp + ox. */
    record Outputs(int oh, int ow, int wp, int plane) {
        /** Copies rows × count images out of the column rows (leading dimension ld) into dst from image n0. */
        void gather(float[] cols, int ld, int count, int rows, MemorySegment dst, int n0) {
            long p = (long) oh * ow;
            for (int b = 0; b < count; b++)
                for (int r = 0; r < rows; r++)
                    DirectConvKernels.copyRows(cols, r * ld + b * plane, wp, dst, ((long) (n0 + b) * rows + r) * p, ow, oh, ow);
        }

        /**
         * The adjoint of {@link #gather} for the chunk's images [from, to) (images n0 + from …): dy's rows of them into
         * the column rows at their pixels. Only pixels are written: the columns between rows and images stay 0.
         */
        void scatter(MemorySegment src, int n0, int from, int to, int rows, float[] cols, int ld) {
            long p = (long) oh * ow;
            for (int b = from; b < to; b++)
                for (int r = 0; r < rows; r++)
                    DirectConvKernels.copyRows(src, ((long) (n0 + b) * rows + r) * p, ow, cols, r * ld + b * plane, wp, oh, ow);
        }

        /** Sets the columns past a chunk of {@code count} images to 0 in the first {@code rows} rows (an earlier, longer chunk's pixels). */
        void clearTail(int count, int rows, float[] cols, int ld) {
            int from = Math.min(count * plane, ld);
            for (int r = 0; r < rows; r++) Arrays.fill(cols, r * ld + from, (r + 1) * ld, 0f);
        }
    }
}
