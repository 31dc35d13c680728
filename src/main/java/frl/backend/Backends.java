package frl.backend;

import frl.backend.cpu.CpuBackend;
import frl.tensor.Device;
import frl.tensor.Tensor;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Finds the backend that computes on a tensor's device, and picks one for "--device auto|cpu|cuda". */
public final class Backends {
    private static final Map<Device, Backend> BY_DEVICE = new ConcurrentHashMap<>();

    private Backends() {}

    /** Makes a backend the one that serves its device (the CUDA backend and test oracles register here). */
    public static void register(Backend b) { BY_DEVICE.put(b.device(), b); }

    public static Backend cpu() { return BY_DEVICE.computeIfAbsent(Device.CPU, d -> CpuBackend.instance()); }

    public static Backend of(Device device) {
        if (device.equals(Device.CPU)) return cpu();
        Backend b = BY_DEVICE.get(device);
        if (b == null) throw new IllegalStateException("no backend is available for device " + device);
        return b;
    }

    public static Backend of(Tensor t) { return of(t.device()); }

    /** "cpu", "cuda" or "auto" (cuda when one is registered, else cpu). */
    public static Backend select(String name) {
        return switch (name) {
            case "cpu" -> cpu();
            case "cuda" -> {
                Backend b = BY_DEVICE.get(Device.CUDA);
                if (b == null) throw new IllegalArgumentException("--device cuda: no CUDA backend in this build or no GPU on this machine; use --device cpu");
                yield b;
            }
            case "auto" -> BY_DEVICE.getOrDefault(Device.CUDA, cpu());
            default -> throw new IllegalArgumentException("unknown device '" + name + "': expected auto, cpu or cuda");
        };
    }
}
