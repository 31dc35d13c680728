package frl.backend.cuda;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.ConvGeometry;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The unfolded-GEMM plans on the host emulation of their steps (CudaSubPixelTest.Host: every block bounds-checked,
 * scratch NaN until written, a TF32 GEMM's operands checked to be TF32), against the CPU backend's convolutions: in SGEMM
 * and in 3xTF32, whole and in chunks. The GPU runs the same plans
 * (CudaUnfoldTest).
 */
class UnfoldPlansTest {
    /** x, w, geometry: strides 1 to 3, paddings, odd sizes, a kernel wider than tall, 1×1, and the VAE's middle layers. */
    static final Object[][] CASES = {
        {Shape.of(2, 3, 9, 7), Shape.of(5, 3, 3, 3), ConvGeometry.of(1, 1)},
        {Shape.of(3, 4, 11, 10), Shape.of(6, 4, 4, 4), ConvGeometry.of(2, 1)},
        {Shape.of(1, 2, 8, 9), Shape.of(3, 2, 2, 5), new ConvGeometry(3, 2, 0, 2)},
        {Shape.of(2, 6, 5, 5), Shape.of(4, 6, 1, 1), ConvGeometry.of(1, 0)},
        {Shape.of(4, 16, 8, 8), Shape.of(32, 16, 4, 4), ConvGeometry.of(2, 1)},   // the encoder's 128→256 at a sixteenth
        {Shape.of(2, 4, 32, 32), Shape.of(8, 4, 4, 4), ConvGeometry.of(2, 1)},    // its first layer, 4 channels in
    };

    private static float[] random(Random r, Shape s) {
        float[] v = new float[Math.toIntExact(s.numel())];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    /** The three plans of each case, whole and split in up to 4 chunks, against CpuConv. */
    @Test void plansMatchTheCpu() {
        Backend cpu = Backends.cpu();
        for (Object[] c : CASES) {
            Shape xs = (Shape) c[0], ws = (Shape) c[1];
            ConvGeometry g = (ConvGeometry) c[2];
            Random r = new Random(7);
            float[] x = random(r, xs), w = random(r, ws);
            try (Scope s = Scope.open()) {
                Tensor cx = cpu.fromHost(xs, x), cw = cpu.fromHost(ws, w);
                float[] y = cpu.conv2d(cx, cw, g).toFloats();
                Shape ys = cpu.conv2d(cx, cw, g).shape();
                float[] dy = random(r, ys);
                Tensor cdy = cpu.fromHost(ys, dy);
                float[] dx = cpu.conv2dBackwardInput(cdy, cw, xs, g).toFloats(), dw = cpu.conv2dBackwardWeight(cx, cdy, ws, g).toFloats();
                for (SubPixelPlans.Gemm gemm : SubPixelPlans.Gemm.values())
                    for (int splits : new int[] {1, 4}) {
                        UnfoldPlans.Dims d = UnfoldPlans.Dims.of(xs, ws, g, splits > 1);
                        String at = gemm + " " + xs + " " + ws + " " + g + (splits > 1 ? " in chunks" : "");
                        CudaSubPixelTest.Host h = host(splits);
                        long out = h.put(CudaSubPixelTest.Host.unwritten(y.length));
                        UnfoldPlans.conv2d(h, gemm, d, h.put(x), h.put(w), out);
                        CudaVsCpu.assertClose("conv2d " + at, h.mem(out), y, 1e-10);
                        h = host(splits);
                        out = h.put(CudaSubPixelTest.Host.unwritten(dx.length));
                        UnfoldPlans.backwardInput(h, gemm, d, h.put(dy), h.put(w), out);
                        CudaVsCpu.assertClose("conv2dBackwardInput " + at, h.mem(out), dx, 1e-10);
                        h = host(splits);
                        out = h.put(CudaSubPixelTest.Host.unwritten(dw.length));
                        UnfoldPlans.backwardWeight(h, gemm, d, h.put(x), h.put(dy), out);
                        CudaVsCpu.assertClose("conv2dBackwardWeight " + at, h.mem(out), dw, 1e-10);
                        if (h.weightSplits(d.ckk(), d.k(), d.np()) > 1) assertTrue(h.sums > 0, "conv2dBackwardWeight " + at + ": not in chunks");
                        assertEquals(gemm == SubPixelPlans.Gemm.TF32X3, h.tf32Gemms > 0, at + ": TF32 GEMMs in " + gemm + " mode");
                    }
            }
        }
    }

    private static CudaSubPixelTest.Host host(int splits) {
        CudaSubPixelTest.Host h = new CudaSubPixelTest.Host();
        h.splits = splits;
        return h;
    }

    @Test void appliesWhereColsFitAndEveryGemmSizeIsAnInt() {
        assertTrue(UnfoldPlans.applies(Shape.of(64, 128, 8, 8), Shape.of(256, 128, 4, 4), ConvGeometry.of(2, 1)));
        assertFalse(UnfoldPlans.applies(Shape.of(64, 1024, 32, 32), Shape.of(64, 1024, 4, 4), ConvGeometry.of(2, 1)),
                "the VAE's last layer unfolds into 2^28 floats");
        assertFalse(UnfoldPlans.applies(Shape.of(2, 3, 8, 8), Shape.of(4, 5, 3, 3), ConvGeometry.of(1, 1)), "channels differ");
        assertFalse(UnfoldPlans.applies(Shape.of(0, 3, 8, 8), Shape.of(4, 3, 3, 3), ConvGeometry.of(1, 1)), "no images");
        assertFalse(UnfoldPlans.applies(Shape.of(2, 3, 2, 2), Shape.of(4, 3, 5, 5), ConvGeometry.of(1, 0)), "no output");
        UnfoldPlans.Dims d = UnfoldPlans.Dims.of(Shape.of(64, 128, 8, 8), Shape.of(256, 128, 4, 4), ConvGeometry.of(2, 1), true);
        assertEquals(2048, d.ckk());
        assertEquals(1024, d.np());
        assertEquals(4, d.oh());
    }
}
