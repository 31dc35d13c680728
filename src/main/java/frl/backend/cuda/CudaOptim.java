package frl.backend.cuda;

import frl.backend.*;
import frl.tensor.*;

/** PLACEHOLDER: replaced by the real implementation. */
final class CudaOptim {
    private CudaOptim() {}
    static void adam(Tensor param, Tensor grad, Tensor m, Tensor v, Backend.AdamConfig c, long step) { throw new UnsupportedOperationException("CudaOptim: not written yet"); }
    static void adamax(Tensor param, Tensor grad, Tensor m, Tensor u, Backend.AdamConfig c, long step) { throw new UnsupportedOperationException("CudaOptim: not written yet"); }
}
