package frl.backend.cuda;

import frl.backend.DeviceClock;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.global.cudart;

import java.util.ArrayDeque;

/** CUDA events recorded on the context's stream, reused once read (a profile takes hundreds per step). */
final class CudaClock implements DeviceClock {
    private static final Kernel HOLD = new Kernel("clock", "hold_ns", "l");
    private final CudaContext ctx;
    private final ArrayDeque<CUevent_st> spare = new ArrayDeque<>();
    private final float[] ms = new float[1];

    CudaClock(CudaContext ctx) { this.ctx = ctx; }

    @Override public void hold(double millis) { HOLD.launch(1, 1, 1, 1, 1, 1, 0, Math.round(millis * 1e6)); }

    @Override public String holdDefeatedBy() {
        return CudaContext.SYNC_EACH_LAUNCH || !PinnedStaging.ON ? "-Dfrl.cuda.sync or -Dfrl.cuda.pinned=false make the host wait inside a held step" : null;
    }

    @Override public synchronized Object mark() {
        CUevent_st e = spare.poll();
        if (e == null) {
            e = new CUevent_st();
            Cuda.check(cudart.cudaEventCreate(e), "cudaEventCreate");
        }
        Cuda.check(cudart.cudaEventRecord(e, ctx.stream()), "cudaEventRecord");
        return e;
    }

    @Override public synchronized double millisBetween(Object a, Object b) {
        Cuda.check(cudart.cudaEventSynchronize((CUevent_st) b), "cudaEventSynchronize");
        Cuda.check(cudart.cudaEventElapsedTime(ms, (CUevent_st) a, (CUevent_st) b), "cudaEventElapsedTime");
        spare.add((CUevent_st) a);
        spare.add((CUevent_st) b);
        return ms[0];
    }
}
