package frl.backend.cpu;

import frl.backend.ConvGeometry;
import frl.backend.Shift;
import frl.tensor.Shape;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The column matrix of one image for a convolution: row (c·kh + i)·kw + j, column oy·ow + ox holds input pixel
 * (c, oy·sh − top + i, ox·sw − left + j), or 0 where that falls in the padding. Columns of several images may sit
 * side by side in one matrix (leading dimension {@code ld}, first column {@code col}). Padding may be asymmetric
 * (PixelCNN++'s shifted convolutions): {@code top}/{@code left} zeros before the image, and after it as many as the
 * last window needs.
 */
record Im2col(int channels, int h, int w, int kh, int kw, int oh, int ow, int sh, int sw, int top, int left) {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    /** For input images of shape x [N,C,H,W] and weights [K,C,kh,kw] (shapes already checked). */
    static Im2col of(Shape x, Shape w, ConvGeometry g) {
        return new Im2col(x.dim(1), x.dim(2), x.dim(3), w.dim(2), w.dim(3), g.outH(x.dim(2), w.dim(2)), g.outW(x.dim(3), w.dim(3)),
                g.strideH(), g.strideW(), g.padH(), g.padW());
    }

    /** For a shifted convolution (stride 1, output H×W; shapes already checked). */
    static Im2col shifted(Shape x, Shape w, Shift s) {
        return new Im2col(x.dim(1), x.dim(2), x.dim(3), w.dim(2), w.dim(3), x.dim(2), x.dim(3), 1, 1, s.top(w.dim(2)), s.left(w.dim(3)));
    }

    int rows() { return channels * kh * kw; }

    int rowsPerChannel() { return kh * kw; }

    int cols() { return oh * ow; }

    long imageSize() { return (long) channels * h * w; }

    /** A 1×1 kernel with stride 1 and no padding: the column matrix is the image itself. */
    boolean isIdentity() { return kh == 1 && kw == 1 && sh == 1 && sw == 1 && top == 0 && left == 0 && oh == h && ow == w; }

    /** Height of the zero-bordered plane: the image and every row a window reads. */
    private int planeH() { return Math.max(top + h, (oh - 1) * sh + kh); }

    /** Width of the zero-bordered plane. */
    private int planeW() { return Math.max(left + w, (ow - 1) * sw + kw); }

    /**
     * Writes the rows of channels [c0, c1) of the image at {@code x[xOff]} into {@code cols} from column
     * {@code col} (channel c0's first row is row 0). Each channel is staged in a zero-bordered heap plane and
     * its rows in a heap block: the gathers need no bounds logic and the segments see one bulk copy each way.
     */
    void toColumns(MemorySegment x, long xOff, int c0, int c1, MemorySegment cols, long col, int ld) {
        int hw = h * w, wp = planeW(), p = oh * ow;
        float[] image = new float[hw], plane = new float[planeH() * wp], rows = new float[kh * kw * p];
        for (int c = c0; c < c1; c++) {
            MemorySegment.copy(x, F, (xOff + (long) c * hw) * Float.BYTES, image, 0, hw);
            for (int y = 0; y < h; y++) System.arraycopy(image, y * w, plane, (y + top) * wp + left, w);
            for (int i = 0, at = 0; i < kh; i++) {
                for (int j = 0; j < kw; j++) {
                    for (int oy = 0; oy < oh; oy++, at += ow) {
                        int src = (oy * sh + i) * wp + j;
                        if (sw == 1) System.arraycopy(plane, src, rows, at, ow);
                        else if (sw == 2) for (int ox = 0; ox < ow; ox++) rows[at + ox] = plane[src + 2 * ox];   // a constant stride runs ~1.7× faster
                        else for (int ox = 0; ox < ow; ox++) rows[at + ox] = plane[src + ox * sw];
                    }
                }
            }
            copyRows(rows, p, cols, col + (long) (c - c0) * kh * kw * ld, ld);
        }
    }

    /**
     * The adjoint of {@link #toColumns}: sets channels [c0, c1) of the image at {@code x[xOff]} to the sum of
     * their column entries (pixels no window reaches get 0; sums landing in the padding are dropped).
     */
    void fromColumns(MemorySegment cols, long col, int ld, int c0, int c1, MemorySegment x, long xOff) {
        int hw = h * w, wp = planeW(), p = oh * ow;
        float[] image = new float[hw], plane = new float[planeH() * wp], rows = new float[kh * kw * p];
        for (int c = c0; c < c1; c++) {
            long from = col + (long) (c - c0) * kh * kw * ld;
            if (ld == p) MemorySegment.copy(cols, F, from * Float.BYTES, rows, 0, rows.length);
            else for (int r = 0; r < kh * kw; r++) MemorySegment.copy(cols, F, (from + (long) r * ld) * Float.BYTES, rows, r * p, p);
            Arrays.fill(plane, 0f);
            for (int i = 0, at = 0; i < kh; i++) {
                for (int j = 0; j < kw; j++) {
                    for (int oy = 0; oy < oh; oy++, at += ow) {
                        int dst = (oy * sh + i) * wp + j;
                        if (sw == 1) for (int ox = 0; ox < ow; ox++) plane[dst + ox] += rows[at + ox];
                        else if (sw == 2) for (int ox = 0; ox < ow; ox++) plane[dst + 2 * ox] += rows[at + ox];
                        else for (int ox = 0; ox < ow; ox++) plane[dst + ox * sw] += rows[at + ox];
                    }
                }
            }
            for (int y = 0; y < h; y++) System.arraycopy(plane, (y + top) * wp + left, image, y * w, w);
            MemorySegment.copy(image, 0, x, F, (xOff + (long) c * hw) * Float.BYTES, hw);
        }
    }

    /** Copies kh·kw rows of p floats from a heap block to the column matrix at {@code at} (one copy when dense). */
    private void copyRows(float[] rows, int p, MemorySegment cols, long at, int ld) {
        if (ld == p) MemorySegment.copy(rows, 0, cols, F, at * Float.BYTES, rows.length);
        else for (int r = 0; r < kh * kw; r++) MemorySegment.copy(rows, r * p, cols, F, (at + (long) r * ld) * Float.BYTES, p);
    }
}
