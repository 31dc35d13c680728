package frl.backend.cpu;

import frl.backend.ConvGeometry;
import frl.tensor.Shape;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The column matrix of one image for a convolution: row (c·kh + i)·kw + j, column oy·ow + ox holds input pixel
 * (c, oy·strideH − padH + i, ox·strideW − padW + j), or 0 where that falls in the padding. Columns of several
 * images may sit side by side in one matrix (leading dimension {@code ld}, first column {@code col}).
 */
record Im2col(int channels, int h, int w, int kh, int kw, int oh, int ow, ConvGeometry g) {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    /** For input images of shape x [N,C,H,W] and weights [K,C,kh,kw] (shapes already checked). */
    static Im2col of(Shape x, Shape w, ConvGeometry g) {
        return new Im2col(x.dim(1), x.dim(2), x.dim(3), w.dim(2), w.dim(3), g.outH(x.dim(2), w.dim(2)), g.outW(x.dim(3), w.dim(3)), g);
    }

    int rows() { return channels * kh * kw; }

    int cols() { return oh * ow; }

    long imageSize() { return (long) channels * h * w; }

    /** A 1×1 kernel with stride 1 and no padding: the column matrix is the image itself. */
    boolean isIdentity() { return kh == 1 && kw == 1 && g.strideH() == 1 && g.strideW() == 1 && g.padH() == 0 && g.padW() == 0; }

    /** Writes the columns of the image at {@code x[xOff]} into {@code cols} from column {@code col}. */
    void toColumns(MemorySegment x, long xOff, MemorySegment cols, long col, int ld) {
        int sw = g.strideW();
        for (int c = 0, row = 0; c < channels; c++) {
            for (int i = 0; i < kh; i++) {
                for (int j = 0; j < kw; j++, row++) {
                    int lo = firstOx(j), hi = Math.max(lo, endOx(j));
                    long dst = col + (long) row * ld;
                    for (int oy = 0; oy < oh; oy++, dst += ow) {
                        int iy = oy * g.strideH() - g.padH() + i;
                        if (iy < 0 || iy >= h) {
                            zero(cols, dst, ow);
                            continue;
                        }
                        zero(cols, dst, lo);
                        zero(cols, dst + hi, ow - hi);
                        long src = xOff + ((long) c * h + iy) * w + (long) lo * sw - g.padW() + j;
                        if (sw == 1) MemorySegment.copy(x, src * Float.BYTES, cols, (dst + lo) * Float.BYTES, (long) (hi - lo) * Float.BYTES);
                        else for (int ox = lo; ox < hi; ox++, src += sw) cols.setAtIndex(F, dst + ox, x.getAtIndex(F, src));
                    }
                }
            }
        }
    }

    /** The adjoint of {@link #toColumns}: adds every column entry back onto its input pixel of {@code x[xOff]}. */
    void addColumns(MemorySegment cols, long col, int ld, MemorySegment x, long xOff) {
        int sw = g.strideW();
        for (int c = 0, row = 0; c < channels; c++) {
            for (int i = 0; i < kh; i++) {
                for (int j = 0; j < kw; j++, row++) {
                    int lo = firstOx(j), hi = endOx(j);
                    long src = col + (long) row * ld;
                    for (int oy = 0; oy < oh; oy++, src += ow) {
                        int iy = oy * g.strideH() - g.padH() + i;
                        if (iy < 0 || iy >= h) continue;
                        long dst = xOff + ((long) c * h + iy) * w + (long) lo * sw - g.padW() + j;
                        for (int ox = lo; ox < hi; ox++, dst += sw)
                            x.setAtIndex(F, dst, x.getAtIndex(F, dst) + cols.getAtIndex(F, src + ox));
                    }
                }
            }
        }
    }

    /** First output column whose kernel tap j lands inside the image (not in the left padding). */
    private int firstOx(int j) { return Math.clamp(Math.ceilDiv(g.padW() - j, g.strideW()), 0, ow); }

    /** One past the last output column whose tap j lands inside the image. */
    private int endOx(int j) { return Math.min(ow, Math.floorDiv(w - 1 + g.padW() - j, g.strideW()) + 1); }

    static void zero(MemorySegment s, long from, long count) {
        if (count <= 0) return;
        if (count < 32) for (long i = 0; i < count; i++) s.setAtIndex(F, from + i, 0f);
        else s.asSlice(from * Float.BYTES, count * Float.BYTES).fill((byte) 0);
    }
}
