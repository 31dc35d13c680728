package frl.backend;

/** Stride and zero padding of a 2-D convolution (no dilation, no groups). */
public record ConvGeometry(int strideH, int strideW, int padH, int padW) {
    public ConvGeometry {
        if (strideH < 1 || strideW < 1) throw new IllegalArgumentException("stride must be ≥ 1, got " + strideH + "×" + strideW);
        if (padH < 0 || padW < 0) throw new IllegalArgumentException("padding must be ≥ 0, got " + padH + "×" + padW);
    }

    public static ConvGeometry of(int stride, int pad) { return new ConvGeometry(stride, stride, pad, pad); }

    public int outH(int h, int kh) { return checked(Math.floorDiv(h + 2 * padH - kh, strideH) + 1, h, kh, "height"); }

    public int outW(int w, int kw) { return checked(Math.floorDiv(w + 2 * padW - kw, strideW) + 1, w, kw, "width"); }

    /**
     * One output phase (ry, rx) of a transposed convolution whose stride divides its kernel: output pixel
     * y = qy·strideH + ry − padH for qy in [qy0, qy0 + qh), likewise x; each phase is one small GEMM.
     */
    public record Phase(int ry, int rx, int qy0, int qh, int qx0, int qw) {
        public int q() { return qh * qw; }
    }

    /** The phases that own at least one pixel of an output of height h and width w, row-major in (ry, rx). */
    public java.util.List<Phase> subPixelPhases(int h, int w) {
        java.util.List<Phase> out = new java.util.ArrayList<>();
        for (int ry = 0; ry < strideH; ry++) {
            int qy0 = Math.max(0, Math.ceilDiv(padH - ry, strideH)), qh = Math.floorDiv(h - 1 + padH - ry, strideH) - qy0 + 1;
            for (int rx = 0; rx < strideW; rx++) {
                int qx0 = Math.max(0, Math.ceilDiv(padW - rx, strideW)), qw = Math.floorDiv(w - 1 + padW - rx, strideW) - qx0 + 1;
                if (qh > 0 && qw > 0) out.add(new Phase(ry, rx, qy0, qh, qx0, qw));
            }
        }
        return out;
    }

    /**
     * Whether every one of the strideH·strideW phases of an h × w output owns the same number of pixels (true when
     * the stride divides h and w): then the phases stack into one tensor, {@link Backend#toPhases}.
     */
    public boolean uniformPhases(int h, int w) {
        java.util.List<Phase> phases = subPixelPhases(h, w);
        return phases.size() == strideH * strideW && phases.stream().allMatch(p -> p.qh() == phases.get(0).qh() && p.qw() == phases.get(0).qw());
    }

    private static int checked(int out, int in, int k, String what) {
        if (out < 1) throw new IllegalArgumentException("convolution " + what + ": input " + in + " with kernel " + k + " gives no output");
        return out;
    }
}
