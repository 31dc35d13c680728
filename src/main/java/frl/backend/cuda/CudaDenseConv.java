package frl.backend.cuda;

import frl.backend.ConvGeometry;
import frl.backend.Shapes;
import frl.tensor.Shape;
import frl.tensor.Tensor;

/**
 * A convolution whose kernel covers its whole unpadded input, so that its output is one pixel: a dense layer over
 * the flattened image, x [N, C·H·W] against w [K, C·H·W]. The VAE has three (the encoder's mean and log-variance
 * heads over the 4×4 top, the decoder's first transposed convolution from the 1×1 code), 9 of a training step's
 * convolution calls. Here each op is one cuBLAS SGEMM over views of the tensors as they lie; {@link CudaConv} keeps
 * this or cuDNN per shape (-Dfrl.cuda.dense). CPU twin: CpuConv, whose im2col of such an input is the input itself.
 */
final class CudaDenseConv {
    private CudaDenseConv() {}

    /** x [N,C,H,W] and w [K,C,H,W]: same channels and the kernel the size of the image, no padding (any stride). */
    static boolean applies(Shape x, Shape w, ConvGeometry g) {
        return x.rank() == 4 && w.rank() == 4 && x.dim(1) == w.dim(1) && x.dim(2) == w.dim(2) && x.dim(3) == w.dim(3)
                && g.padH() == 0 && g.padW() == 0 && x.numel() > 0 && w.numel() > 0
                && (long) x.dim(1) * x.dim(2) * x.dim(3) <= Integer.MAX_VALUE;
    }

    /** y [N,K,1,1] = x [N,CHW] · w [K,CHW]ᵀ. */
    static Tensor conv2d(Tensor x, Tensor w, ConvGeometry g) {
        Tensor y = CudaBackend.alloc(Shapes.conv2d(x.shape(), w.shape(), g));
        CudaBlas.matmulInto(flat(x), false, flat(w), true, y);
        return y;
    }

    /** dx [N,C,H,W] = dy [N,K] · w [K,CHW]. */
    static Tensor backwardInput(Tensor dy, Tensor w, Shape xShape, ConvGeometry g) {
        Shapes.conv2dBackward(dy.shape(), xShape, w.shape(), g);
        Tensor dx = CudaBackend.alloc(xShape);
        CudaBlas.matmulInto(flat(dy), false, flat(w), false, dx);
        return dx;
    }

    /** dw [K,C,H,W] = dy [N,K]ᵀ · x [N,CHW]. */
    static Tensor backwardWeight(Tensor x, Tensor dy, Shape wShape, ConvGeometry g) {
        Shapes.conv2dBackward(dy.shape(), x.shape(), wShape, g);
        Tensor dw = CudaBackend.alloc(wShape);
        CudaBlas.matmulInto(flat(dy), true, flat(x), false, dw);
        return dw;
    }

    /** [D0, D1·D2·D3], a view. */
    private static Tensor flat(Tensor t) { return t.reshape(t.dim(0), t.dim(1) * t.dim(2) * t.dim(3)); }
}
