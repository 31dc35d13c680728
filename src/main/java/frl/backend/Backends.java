package frl.backend;

import frl.backend.cpu.CpuBackend;
import frl.backend.cuda.DriverProbe;
import frl.tensor.Device;
import frl.tensor.Tensor;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** Finds the backend that computes on a tensor's device, and picks one for "--device auto|cpu|cuda". */
public final class Backends {
    private static final Map<Device, Backend> BY_DEVICE = new ConcurrentHashMap<>();
    private static String cudaProblem;
    private static boolean cudaTried;

    private Backends() {}

    /** Makes a backend the one that serves its device (the CUDA backend and test oracles register here). */
    public static void register(Backend b) { BY_DEVICE.put(b.device(), b); }

    public static Backend cpu() { return BY_DEVICE.computeIfAbsent(Device.CPU, d -> CpuBackend.instance()); }

    /**
     * The CUDA backend, when this machine has a usable GPU and this build has its kernels. The driver is asked
     * through FFM first; JavaCPP's CUDA classes are loaded (by name, inside a catch of LinkageError) only if it
     * answers, because a failed load of them breaks every later attempt in this JVM.
     */
    public static synchronized Optional<Backend> cuda() {
        if (!cudaTried) {
            cudaTried = true;
            DriverProbe.Result probe = DriverProbe.probe();
            if (!probe.usable()) cudaProblem = probe.toString();
            else {
                try {
                    register((Backend) Class.forName("frl.backend.cuda.CudaBackend").getMethod("instance").invoke(null));
                } catch (java.lang.reflect.InvocationTargetException e) {
                    cudaProblem = "the CUDA backend failed to start: " + e.getCause();
                } catch (ReflectiveOperationException | LinkageError e) {
                    cudaProblem = "the CUDA libraries could not be loaded: " + e;
                }
            }
        }
        return Optional.ofNullable(BY_DEVICE.get(Device.CUDA));
    }

    /** Why {@link #cuda()} is empty (null when it is not). */
    public static synchronized String cudaProblem() {
        cuda();
        return cudaProblem;
    }

    public static Backend of(Device device) {
        Backend b = BY_DEVICE.get(device); // the hot path: every autograd op looks its backend up here
        if (b != null) return b;
        if (device.equals(Device.CPU)) return cpu();
        if (device.equals(Device.CUDA)) cuda();
        b = BY_DEVICE.get(device);
        if (b == null) throw new IllegalStateException("no backend is available for device " + device);
        return b;
    }

    public static Backend of(Tensor t) { return of(t.device()); }

    /** "cpu", "cuda" or "auto" (cuda when one is registered, else cpu). */
    public static Backend select(String name) {
        return switch (name) {
            case "cpu" -> cpu();
            case "cuda" -> cuda().orElseThrow(() -> new IllegalArgumentException("--device cuda: " + cudaProblem() + "; use --device cpu"));
            case "auto" -> cuda().orElseGet(Backends::cpu);
            default -> throw new IllegalArgumentException("unknown device '" + name + "': expected auto, cpu or cuda");
        };
    }
}
