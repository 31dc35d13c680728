package frl.backend.cuda;

import java.util.Arrays;

/** The CUDA backend's -D switches that take one of a few words. */
final class CudaFlags {
    private CudaFlags() {}

    /** -Dproperty's value (trimmed), fallback when unset; anything not among allowed is an error that lists them. */
    static String oneOf(String property, String fallback, String... allowed) {
        String v = System.getProperty(property, fallback).trim();
        if (Arrays.asList(allowed).contains(v)) return v;
        throw new IllegalArgumentException("-D" + property + " must be one of " + String.join(", ", allowed) + "; got '" + v + "'");
    }
}
