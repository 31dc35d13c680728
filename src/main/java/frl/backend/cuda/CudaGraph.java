package frl.backend.cuda;

import frl.backend.StepGraph;
import frl.tensor.Scope;
import org.bytedeco.cuda.cudart.CUgraphExec_st;
import org.bytedeco.cuda.cudart.CUgraph_st;
import org.bytedeco.cuda.global.cudart;

import java.util.List;

/**
 * A step recorded by stream capture and replayed with one cudaGraphLaunch. While the step is captured its
 * allocations come from a pool the graph keeps (a replay uses the captured addresses), and anything that would
 * wait for the stream or copy to or from the host fails with a message saying so; the capture is then abandoned
 * and nothing was run. The step's input checks run at every replay: a failure stays in its flag until the next
 * full synchronisation raises it.
 */
final class CudaGraph implements StepGraph {
    private final CudaContext ctx;
    private final CUgraph_st graph;
    private final CUgraphExec_st exec;
    private final DeviceAllocator.Pool pool;
    private final List<CudaContext.DeferredCheck> checks;
    private boolean closed;

    private CudaGraph(CudaContext ctx, CUgraph_st graph, CUgraphExec_st exec, DeviceAllocator.Pool pool, List<CudaContext.DeferredCheck> checks) {
        this.ctx = ctx;
        this.graph = graph;
        this.exec = exec;
        this.pool = pool;
        this.checks = checks;
    }

    /** Records {@code step}; run it once eagerly first, so that cuDNN and the kernels have chosen their algorithms. */
    static CudaGraph capture(CudaContext ctx, Runnable step) {
        ctx.synchronize();   // earlier work done: cached blocks the pool takes are not in use
        DeviceAllocator.Pool pool = ctx.allocator().beginCapture();
        ctx.beginCaptureChecks();
        CUgraph_st graph = new CUgraph_st();
        Throwable failure = null;
        int begin = cudart.cudaSuccess, end = cudart.cudaSuccess;
        List<CudaContext.DeferredCheck> checks;
        try {
            begin = cudart.cudaStreamBeginCapture(ctx.stream(), cudart.cudaStreamCaptureModeRelaxed);
            if (begin == cudart.cudaSuccess) {
                try (Scope s = Scope.open()) {
                    step.run();
                } catch (Throwable t) {
                    failure = t;
                }
                end = cudart.cudaStreamEndCapture(ctx.stream(), graph);
            }
        } finally {
            checks = ctx.endCaptureChecks();
            ctx.allocator().endCapture();
        }
        try {
            if (failure != null) throw failure;
            Cuda.check(begin, "cudaStreamBeginCapture");
            Cuda.check(end, "cudaStreamEndCapture (a call of the step broke the capture)");
            CUgraphExec_st exec = new CUgraphExec_st();
            Cuda.check(cudart.cudaGraphInstantiate(exec, graph, 0L), "cudaGraphInstantiate");
            for (CudaContext.DeferredCheck c : checks)
                Cuda.check(cudart.cudaMemsetAsync(new DevicePointer(c.flag().address()), 0xFF, 8, ctx.stream()), "cudaMemsetAsync(graph check flag)");
            ctx.addGraphChecks(checks);
            return new CudaGraph(ctx, graph, exec, pool, checks);
        } catch (Throwable t) {
            cudart.cudaGetLastError();   // a broken capture leaves its error behind
            if (!graph.isNull()) cudart.cudaGraphDestroy(graph);
            for (CudaContext.DeferredCheck c : checks) c.flag().close();
            pool.close();
            if (t instanceof Error e) throw e;
            throw new IllegalStateException("the step could not be recorded as a CUDA graph: " + t.getMessage(), t);
        }
    }

    @Override public synchronized void replay() {
        if (closed) throw new IllegalStateException("this CUDA graph was closed");
        Cuda.check(cudart.cudaGraphLaunch(exec, ctx.stream()), "cudaGraphLaunch");
    }

    @Override public boolean recorded() { return true; }

    @Override public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            ctx.synchronize();   // the replays are done; a failed input check of one of them is raised here
        } finally {
            ctx.removeGraphChecks(checks);
            for (CudaContext.DeferredCheck c : checks) c.flag().close();
            Cuda.check(cudart.cudaGraphExecDestroy(exec), "cudaGraphExecDestroy");
            Cuda.check(cudart.cudaGraphDestroy(graph), "cudaGraphDestroy");
            pool.close();
        }
    }
}
