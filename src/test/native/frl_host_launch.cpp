// One kernel family's launcher for the host shim (frl_host_shim.h): HostKernels compiles this file with the family's
// .cu included (FRL_FAMILY_SOURCE), FRL_KERNELS, the list X(name) of its kernels, and FRL_HOST_FIBERS where its
// threads wait for each other, defined on the command line.
#include <cstdio>
#include <cstring>
#include <functional>
#include <type_traits>
#include <utility>
#include FRL_FAMILY_SOURCE

namespace {
// The kernel's arguments from cuLaunchKernel's layout: params[i] points at argument i's value.
template <typename... A, std::size_t... I>
void call(void (*kernel)(A...), void** params, std::index_sequence<I...>) {
    kernel(*static_cast<std::remove_cv_t<std::remove_reference_t<A>>*>(params[I])...);
}

thread_local std::function<void()> body;

void fiber_main() {
    try {
        body();
    } catch (...) {
        frl_fibers->failure = std::current_exception();
    }
    frl_fibers->fibers[frl_fibers->current].state = FrlFibers::DONE;
}

void set_thread(int t, const unsigned block[3]) {
    threadIdx = {t % block[0], t / block[0] % block[1], t / (block[0] * block[1])};
}

// One block's threads as fibers, each run to its next barrier in turn; a barrier opens once every live thread it
// concerns (the block's, or the warp's) waits at one.
void run_block(FrlFibers& f, std::vector<char>& stacks, std::size_t stack, const unsigned block[3]) {
    int n = (int)f.fibers.size();
    for (int t = 0; t < n; t++) {
        FrlFibers::Fiber& fib = f.fibers[t];
        getcontext(&fib.context);
        fib.context.uc_stack.ss_sp = stacks.data() + t * stack;
        fib.context.uc_stack.ss_size = stack;
        fib.context.uc_link = &f.scheduler;
        makecontext(&fib.context, fiber_main, 0);
        fib.state = FrlFibers::RUNNING;
    }
    for (;;) {
        for (int t = 0; t < n; t++)
            if (f.fibers[t].state == FrlFibers::RUNNING) {
                f.current = t;
                set_thread(t, block);
                swapcontext(&f.scheduler, &f.fibers[t].context);
                if (f.failure) std::rethrow_exception(std::exchange(f.failure, nullptr));
            }
        int live = 0, atBlock = 0;
        for (auto& fib : f.fibers) { live += fib.state != FrlFibers::DONE; atBlock += fib.state == FrlFibers::AT_BLOCK_BARRIER; }
        if (live == 0) return;
        bool opened = false;
        if (atBlock == live) {
            for (auto& fib : f.fibers) if (fib.state == FrlFibers::AT_BLOCK_BARRIER) fib.state = FrlFibers::RUNNING;
            opened = true;
        } else
            for (int w = 0; w < n; w += 32) {
                int waiting = 0, alive = 0;
                for (int t = w; t < w + 32 && t < n; t++) {
                    alive += f.fibers[t].state != FrlFibers::DONE;
                    waiting += f.fibers[t].state == FrlFibers::AT_WARP_BARRIER;
                }
                if (waiting > 0 && waiting == alive) {
                    for (int t = w; t < w + 32 && t < n; t++) if (f.fibers[t].state == FrlFibers::AT_WARP_BARRIER) f.fibers[t].state = FrlFibers::RUNNING;
                    opened = true;
                }
            }
        if (!opened) throw FrlHostError("the block's threads wait at barriers that none of them can pass (block and warp barriers mixed)");
    }
}

template <typename... A>
void run(void (*kernel)(A...), void** params, const unsigned grid[3], const unsigned block[3], unsigned sharedBytes) {
    gridDim = {grid[0], grid[1], grid[2]};
    blockDim = {block[0], block[1], block[2]};
    std::vector<char> shared(sharedBytes + 16);
    frl_dynamic_shared = shared.data();
#ifdef FRL_HOST_FIBERS
    const std::size_t stack = 64 * 1024;
    FrlFibers f;
    int n = (int)(block[0] * block[1] * block[2]);
    f.fibers.resize(n);
    f.exchange.assign(n, 0);
    std::vector<char> stacks(stack * n);
    frl_fibers = &f;
    body = [&] { call(kernel, params, std::index_sequence_for<A...>{}); };
    try {
        for (unsigned bz = 0; bz < grid[2]; bz++)
            for (unsigned by = 0; by < grid[1]; by++)
                for (unsigned bx = 0; bx < grid[0]; bx++) {
                    blockIdx = {bx, by, bz};
                    run_block(f, stacks, stack, block);
                }
    } catch (...) {
        frl_fibers = nullptr;
        throw;
    }
    frl_fibers = nullptr;
#else
    for (unsigned bz = 0; bz < grid[2]; bz++)
        for (unsigned by = 0; by < grid[1]; by++)
            for (unsigned bx = 0; bx < grid[0]; bx++)
                for (unsigned t = 0; t < block[0] * block[1] * block[2]; t++) {
                    blockIdx = {bx, by, bz};
                    set_thread((int)t, block);
                    call(kernel, params, std::index_sequence_for<A...>{});
                }
#endif
}
}  // namespace

// 0: ran; 1: no kernel of that name in this family; 2: the kernel failed (message in error, at most errorBytes).
extern "C" int frl_host_launch(const char* name, const unsigned* grid, const unsigned* block, unsigned sharedBytes, void** params, char* error,
                               int errorBytes) {
    try {
#define X(k) if (std::strcmp(name, #k) == 0) { run(k, params, grid, block, sharedBytes); return 0; }
        FRL_KERNELS
#undef X
        std::snprintf(error, errorBytes, "no kernel %s in this family", name);
        return 1;
    } catch (const std::exception& e) {
        std::snprintf(error, errorBytes, "%s: %s", name, e.what());
        return 2;
    }
}
