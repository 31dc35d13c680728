package frl.backend.cpu;

import frl.backend.*;
import frl.tensor.*;

/** TODO(in progress). */
final class CpuOptim {
    private CpuOptim() {}

    static void adam(Tensor p, Tensor g, Tensor m, Tensor v, Backend.AdamConfig c, long step) { throw new UnsupportedOperationException("CpuOptim: in progress"); }

    static void adamax(Tensor p, Tensor g, Tensor m, Tensor u, Backend.AdamConfig c, long step) { throw new UnsupportedOperationException("CpuOptim: in progress"); }

}
