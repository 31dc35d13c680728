package frl.backend;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The host's physical memory, from /proc/meminfo (no java.management: the GPU bundle's runtime leaves it out). */
final class HostMemory {
    private HostMemory() {}

    /** MemTotal in bytes, or Long.MAX_VALUE where /proc/meminfo cannot be read. */
    static long totalBytes() {
        try {
            return parse(Files.readString(Path.of("/proc/meminfo")));
        } catch (IOException | RuntimeException e) {
            return Long.MAX_VALUE;
        }
    }

    /** MemTotal of a /proc/meminfo text ("MemTotal:       24576000 kB"), in bytes; Long.MAX_VALUE without that line. */
    static long parse(String meminfo) {
        for (String line : meminfo.split("\n")) {
            if (!line.startsWith("MemTotal:")) continue;
            String[] f = line.substring("MemTotal:".length()).trim().split("\\s+");
            long v = Long.parseLong(f[0]);
            return f.length > 1 && f[1].equalsIgnoreCase("kB") ? v * 1024 : v;
        }
        return Long.MAX_VALUE;
    }
}
